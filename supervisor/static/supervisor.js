/* Supervisor pages: login, 好差评 follow-up and admin forms, print (Hall.api and Hall.toast
 * from hall.js; logout is hall.js's data-logout). */
(function () {
  "use strict";
  var api = Hall.api;
  var toast = Hall.toast;

  function showError(form, message) {
    var p = form.querySelector(".msg.error");
    if (p) { p.textContent = message; p.hidden = !message; }
  }

  // login
  var login = document.getElementById("login-form");
  if (login) {
    login.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var err = document.getElementById("login-error");
      err.hidden = true;
      api("POST", "/api/login", { username: login.username.value.trim(), password: login.password.value })
        .then(function (d) {
          if (d.role !== "supervisor" && d.role !== "admin") {
            throw new Error("该账号没有管理权限（需主管或管理员）");
          }
          window.location.href = login.getAttribute("data-next") || "/supervisor";
        })
        .catch(function (e) {
          err.textContent = e.message;
          err.hidden = false;
        });
    });
  }

  // 好差评 follow-up
  document.querySelectorAll(".js-followup").forEach(function (form) {
    var action = null;
    form.querySelectorAll("button[data-action]").forEach(function (b) {
      b.addEventListener("click", function () { action = b.getAttribute("data-action"); });
    });
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      showError(form, "");
      api("POST", form.getAttribute("data-url"), { action: action, note: form.note.value })
        .then(function (r) {
          toast(r.number + " 已更新为「" + r.status_name + "」", "ok");
          setTimeout(function () { window.location.reload(); }, 600);
        })
        .catch(function (e) { showError(form, e.message); });
    });
  });

  // admin forms: fields are typed by data-type
  function collect(form) {
    var body = {};
    var lists = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.disabled) return;
      var type = el.getAttribute("data-type") || "text";
      if (type === "checklist" || type === "intchecklist") {
        lists[el.name] = lists[el.name] || [];
        if (el.checked) lists[el.name].push(type === "intchecklist" ? parseInt(el.value, 10) : el.value);
        return;
      }
      if (type === "bool") { body[el.name] = el.checked; return; }
      var v = el.value;
      if (el.getAttribute("data-optional") && v === "") return;
      if (type === "int") { if (v === "") return; body[el.name] = Number(v); return; }
      if (type === "float") { if (v === "") return; body[el.name] = Number(v); return; }
      if (type === "list") {
        body[el.name] = v.split(/[,，、;；\n]/).map(function (s) { return s.trim(); }).filter(Boolean);
        return;
      }
      body[el.name] = v;
    });
    Object.keys(lists).forEach(function (k) { body[k] = lists[k]; });
    return body;
  }

  document.querySelectorAll(".js-admin").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      showError(form, "");
      var method = form.getAttribute("data-method") || "POST";
      api(method, form.getAttribute("data-url"), collect(form))
        .then(function () {
          toast(method === "POST" ? "已新增" : "已保存", "ok");
          form.classList.add("saved");
          setTimeout(function () { window.location.reload(); }, 700);
        })
        .catch(function (e) { showError(form, e.message); });
    });
  });

  document.querySelectorAll(".js-print").forEach(function (b) {
    b.addEventListener("click", function () { window.print(); });
  });
})();
