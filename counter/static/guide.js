/* The guide desk (导办台): issue tickets for citizens (also 绿色通道), look up a number,
 * requeue a no-show, reprint. Counts stay live through /counter `queue` events. */
(function () {
  "use strict";
  function $(id) { return document.getElementById(id); }
  var priorityReason = null;
  var lastIssued = null;
  var found = null;
  var LIMIT = parseInt(document.body.getAttribute("data-requeue-limit") || "1", 10);

  // --- priority ----------------------------------------------------------------------
  $("priority-on").addEventListener("change", function () {
    $("priority-reasons").hidden = !this.checked;
    $("priority-box").classList.toggle("on", this.checked);
    if (!this.checked) choosePriority(null);
  });
  function choosePriority(chip) {
    priorityReason = chip ? chip.getAttribute("data-reason") : null;
    document.querySelectorAll("#priority-reasons .chip").forEach(function (c) { c.classList.toggle("selected", c === chip); });
  }
  document.querySelectorAll("#priority-reasons .chip").forEach(function (chip) {
    chip.addEventListener("click", function () { choosePriority(chip); });
  });

  // --- issue -------------------------------------------------------------------------
  // The printer picked at this desk: a kiosk's printer (sent as `kiosk`) or the hall's
  // default printer (sent as `print: true`); none = no paper.
  function printer() {
    var p = $("printer");
    if (!p || !p.value) return null;
    return { id: p.value, kiosk: p.selectedOptions[0].getAttribute("data-kiosk") === "1" };
  }
  document.querySelectorAll(".svc").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var body = { service: btn.getAttribute("data-service") };
      if ($("priority-on").checked) {
        if (!priorityReason) { Hall.toast("请选择绿色通道的优先原因"); return; }
        var extra = $("priority-other").value.trim();
        body.priority = true;
        body.priority_reason = extra ? priorityReason + "：" + extra : priorityReason;
      }
      var pr = printer();
      if (pr && pr.kiosk) body.kiosk = pr.id; else if (pr) body.print = true;
      btn.disabled = true;
      Hall.api("POST", "/api/tickets", body).then(function (t) {
        lastIssued = t;
        $("issued").hidden = false;
        $("issued").classList.toggle("priority", t.priority);
        $("issued-number").textContent = t.number;
        $("issued-info").textContent = t.service_name + (t.priority ? " · 绿色通道" : "") +
          " · 前面还有" + t.waiting_ahead + "人等候" +
          (t.printed === true ? " · 已打印" : t.print_error ? " · 打印失败：" + Hall.chinese(t.print_error) : "");
        Hall.toast("已取号 " + t.number, "ok");
        $("priority-on").checked = false;
        $("priority-reasons").hidden = true;
        $("priority-box").classList.remove("on");
        $("priority-other").value = "";
        choosePriority(null);
      }, function (e) { Hall.toast(e.message); }).then(function () { btn.disabled = false; });
    });
  });

  function reprint(id) {
    var body = {};
    var pr = printer();
    if (pr) body.kiosk = pr.id;
    Hall.api("POST", "/api/tickets/" + id + "/reprint", body).then(function (d) {
      if (d.printed) Hall.toast("已补打 " + d.ticket.number, "ok");
      else Hall.toast("补打失败：" + Hall.chinese(d.error));
    }, function (e) { Hall.toast(e.message); });
  }
  $("issued-reprint").addEventListener("click", function () { if (lastIssued) reprint(lastIssued.id); });

  // --- look-up -----------------------------------------------------------------------
  var STATUS = { waiting: "等候中", called: "已叫号", serving: "办理中", done: "已办结", no_show: "过号", cancelled: "已取消" };
  function showFound(t) {
    found = t;
    $("found").hidden = !t;
    if (!t) return;
    $("found-number").textContent = t.number;
    $("found-service").textContent = t.service_name;
    $("found-status").textContent = STATUS[t.status] || t.status;
    $("found-window").textContent = t.window_name || (t.target_window ? "转至" + t.target_window + "号窗口" : "—");
    $("found-ahead").textContent = t.status === "waiting" ? t.waiting_ahead + " 人" : "—";
    $("found-issued").textContent = (t.issued_at || "").slice(11, 19);
    $("found-priority").textContent = t.priority ? "是（" + (t.priority_reason || "") + "）" : "否";
    $("found-requeue").hidden = t.status !== "no_show";
    $("found-reprint").hidden = ["done", "cancelled"].indexOf(t.status) >= 0;
    $("found-cancel").hidden = t.status !== "waiting";
  }
  function lookup(number) {
    number = (number || "").trim().toUpperCase();
    if (!number) return Promise.resolve();
    return Hall.api("GET", "/api/tickets?number=" + encodeURIComponent(number)).then(function (list) {
      if (!list.length) { showFound(null); Hall.toast("今天没有 " + number + " 号"); return; }
      showFound(list[0]);
    }, function (e) { Hall.toast(e.message); });
  }
  $("lookup-form").addEventListener("submit", function (e) {
    e.preventDefault();
    lookup($("lookup-number").value);
  });
  function requeue(id, number) {
    return Hall.api("POST", "/api/tickets/" + id + "/requeue").then(function (t) {
      Hall.toast(number + " 已重新排队，前面还有" + t.waiting_ahead + "人", "ok");
      if (found && found.id === id) showFound(t);
      refreshNoShows();
    }, function (e) { Hall.toast(e.message); });
  }
  $("found-requeue").addEventListener("click", function () { if (found) requeue(found.id, found.number); });
  $("found-reprint").addEventListener("click", function () { if (found) reprint(found.id); });
  $("found-cancel").addEventListener("click", function () {
    if (!found || !window.confirm("确定取消 " + found.number + " 号？")) return;
    Hall.api("POST", "/api/tickets/" + found.id + "/cancel", { reason: "导办台取消" }).then(function (t) {
      Hall.toast(t.number + " 已取消", "ok");
      showFound(t);
    }, function (e) { Hall.toast(e.message); });
  });

  // --- no-shows ---------------------------------------------------------------------
  function bindRequeue(root) {
    root.querySelectorAll(".requeue").forEach(function (b) {
      b.addEventListener("click", function () {
        requeue(parseInt(b.getAttribute("data-id"), 10), b.getAttribute("data-number"));
      });
    });
  }
  bindRequeue(document);
  function refreshNoShows() {
    Hall.api("GET", "/api/tickets?status=no_show").then(function (list) {
      var ul = $("noshows");
      ul.textContent = "";
      if (!list.length) {
        var li0 = document.createElement("li"); li0.className = "none"; li0.textContent = "暂无过号"; ul.append(li0);
      }
      list.slice(0, 30).forEach(function (t) {
        var li = document.createElement("li");
        var b = document.createElement("b"); b.textContent = t.number;
        var s = document.createElement("span"); s.textContent = t.service_name;
        li.append(b, s);
        var left = LIMIT - t.requeues;
        if (left > 0) {
          var btn = document.createElement("button");
          btn.type = "button"; btn.className = "btn small requeue"; btn.textContent = "重新排队";
          btn.setAttribute("data-id", t.id); btn.setAttribute("data-number", t.number);
          li.append(btn);
        } else {
          var em = document.createElement("em"); em.textContent = "已重排过"; li.append(em);
        }
        ul.append(li);
      });
      bindRequeue(ul);
    }, function () {});
  }

  // --- live counts ------------------------------------------------------------------
  var noShowTimer = null;
  function showCounts(counts) {
    Object.keys(counts).forEach(function (code) {
      var el = document.querySelector('[data-waiting="' + code + '"]');
      if (el) el.textContent = counts[code];
    });
  }
  var connected = false;
  Hall.connect("/counter", {
    queue: function (counts) {
      showCounts(counts);
      clearTimeout(noShowTimer);
      noShowTimer = setTimeout(refreshNoShows, 300);
    }
  }, {
    snapshot: function () {
      // Back after a cut: what changed meanwhile (the page itself is the first state).
      if (connected) {
        Hall.api("GET", "/api/services").then(function (list) {
          var counts = {};
          list.forEach(function (s) { counts[s.code] = s.waiting; });
          showCounts(counts);
        }, function () {});
        refreshNoShows();
      }
      connected = true;
    }
  });
})();
