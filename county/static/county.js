/* County pages: the login form, the live overview (Socket.IO /county: `snapshot`, then
 * `site` rows with their texts from the server), 重试 on the province page, and the
 * village point's actions. Every action goes through Hall.api and then the page is
 * rendered again by the server (no rule of the server is repeated here).
 * Test hooks: window.countyRows (rows received). */
(function () {
  "use strict";

  var page = document.body.getAttribute("data-page") || "";
  function $(id) { return document.getElementById(id); }
  function reload() { window.location.reload(); }
  function fail(e) { Hall.toast(e.message || "操作失败"); }

  // --- login ---------------------------------------------------------------------------------
  var login = $("cy-login-form");
  if (login) {
    login.addEventListener("submit", function (e) {
      e.preventDefault();
      var err = $("cy-login-error");
      Hall.api("POST", "/api/login", { username: $("cy-username").value, password: $("cy-password").value })
        .then(reload)
        .catch(function (x) { err.hidden = false; Hall.setText(err, x.message); });
    });
  }

  // --- the overview ------------------------------------------------------------------------------
  var TOTALS = { waiting: "waiting", tickets: "tickets", served: "served", bad: "bad_count" };
  var LINK_BADGE = { online: "green", offline: "red", never: "grey", disabled: "grey" };
  window.countyRows = 0;

  function drawRow(row) {
    var tr = $("site-" + row.id);
    if (!tr) { Hall.toast("新站点：" + row.name + "，刷新后显示", "info"); return; }
    tr.querySelectorAll("[data-k]").forEach(function (td) {
      var k = td.getAttribute("data-k");
      if (row.show && row.show[k] !== undefined) Hall.setText(td, row.show[k]);
    });
    tr.className = "link-" + row.link;
    var badge = tr.querySelector("[data-k=link]");
    if (badge) badge.className = "badge " + (LINK_BADGE[row.link] || "grey");
    var bad = tr.querySelector("[data-k=bad]");
    if (bad) bad.classList.toggle("bad", row.bad_count > 0);
    tr.dataset.row = JSON.stringify({ link: row.link, waiting: row.waiting, tickets: row.tickets,
      served: row.served, bad_count: row.bad_count });
    window.countyRows += 1;
  }

  function drawTotals() {
    var sums = { sites: 0, online: 0, offline: 0, waiting: 0, tickets: 0, served: 0, bad: 0 };
    document.querySelectorAll("tr[data-site]").forEach(function (tr) {
      if (!tr.dataset.row) return;
      var r = JSON.parse(tr.dataset.row);
      sums.sites += 1;
      if (r.link === "online") sums.online += 1;
      if (r.link === "offline") sums.offline += 1;
      Object.keys(TOTALS).forEach(function (k) { sums[k] += r[TOTALS[k]] || 0; });
    });
    Object.keys(sums).forEach(function (k) {
      var el = document.querySelector("[data-total=" + k + "]");
      if (el) Hall.setText(el, String(sums[k]));
    });
  }

  if (page === "overview") {
    Hall.connect("/county", {
      snapshot: function (data) { (data.sites || []).forEach(drawRow); drawTotals(); },
      site: function (row) { drawRow(row); drawTotals(); }
    }, {
      status: function (online) { var l = $("cy-live"); if (l) l.classList.toggle("on", online); }
    });
  }

  // --- 重试 (province) ---------------------------------------------------------------------------
  document.querySelectorAll("[data-retry]").forEach(function (b) {
    b.addEventListener("click", function () {
      b.disabled = true;
      Hall.api("POST", "/api/county/province/" + encodeURIComponent(b.getAttribute("data-retry")) + "/retry")
        .then(function () { Hall.toast("已重新排队发送", "ok"); setTimeout(reload, 800); })
        .catch(function (e) { b.disabled = false; fail(e); });
    });
  });

  // --- the village point ----------------------------------------------------------------------------
  function on(id, fn) { var el = $(id); if (el) el.addEventListener("click", function () { fn(el); }); }
  function act(el, method, url, body) {
    el.disabled = true;
    return Hall.api(method, url, body).then(reload).catch(function (e) { el.disabled = false; fail(e); });
  }
  document.querySelectorAll("[data-open]").forEach(function (b) {
    b.addEventListener("click", function () { act(b, "POST", "/api/windows/" + b.getAttribute("data-open") + "/open"); });
  });
  document.querySelectorAll("[data-close]").forEach(function (b) {
    b.addEventListener("click", function () { act(b, "POST", "/api/windows/" + b.getAttribute("data-close") + "/close"); });
  });
  on("cy-visit", function (b) {
    var picked = document.querySelector("input[name=matter]:checked");
    var body = { window: parseInt(b.getAttribute("data-window"), 10) };
    if (picked) body.matter = picked.value;
    var c = $("cy-new-case").value.trim();
    if (c) body.case_no = c;
    act(b, "POST", "/api/county/visits", body);
  });
  on("cy-finish", function (b) {
    var body = {};
    var c = $("cy-case").value.trim();
    if (c) body.case_no = c;
    if (b.getAttribute("data-matter")) body.matter = b.getAttribute("data-matter");
    act(b, "POST", "/api/tickets/" + b.getAttribute("data-finish") + "/finish", body);
  });

  var rate = $("cy-rate");
  if (rate) {
    var score = null;
    var reasons = [];
    var send = $("cy-rate-send");
    var url = "/api/county/visits/" + rate.getAttribute("data-ticket") + "/rating";
    rate.querySelectorAll("[data-score]").forEach(function (b) {
      b.addEventListener("click", function () {
        score = parseInt(b.getAttribute("data-score"), 10);
        rate.querySelectorAll("[data-score]").forEach(function (x) { x.setAttribute("aria-pressed", String(x === b)); });
        $("cy-reasons").hidden = score > 2;
        send.disabled = score <= 2 && !reasons.length;
      });
    });
    rate.querySelectorAll("[data-reason]").forEach(function (b) {
      b.addEventListener("click", function () {
        var r = b.getAttribute("data-reason");
        var i = reasons.indexOf(r);
        if (i >= 0) reasons.splice(i, 1); else reasons.push(r);
        b.setAttribute("aria-pressed", String(i < 0));
        send.disabled = score === null || (score <= 2 && !reasons.length);
      });
    });
    send.addEventListener("click", function () {
      act(send, "POST", url, { score: score, reasons: score <= 2 ? reasons : [] })
        .then(function () { Hall.toast("感谢您的评价！", "ok"); });
    });
    on("cy-rate-skip", function (b) { act(b, "POST", url, { skip: true }); });
  }
})();
