/* Kiosk (取号机): keeps the server-rendered screen live.
 *
 * - start screen: waiting counts from the /kiosk Socket.IO namespace (`queue`), estimates
 *   and open/closed from /api/services (refreshed after each `queue`, and every minute);
 *   the page reloads itself when the hall opens or closes or the services change;
 * - a tap shows "正在取号" and blocks a second tap (no double tickets);
 * - the ticket screen and the sub-matter screen count down back to the start.
 * Test hooks: window.kioskSocket, window.kioskRefreshes (number of /api/services reads).
 */
(function () {
  "use strict";

  var body = document.body;
  var D = body.dataset;
  var MODE = D.mode || "start";
  var HOME = D.home || "/kiosk";
  window.kioskRefreshes = 0;

  function $(id) { return document.getElementById(id); }
  var setText = Hall.setText;
  function goHome() { window.location.replace(HOME); }

  // --- the day changes: the start screen renders again (hall.js keeps the clock) -------------
  var shownDay = null;
  function tick() {
    var p = Hall.hallTime();
    var day = p.year + "-" + p.month + "-" + p.day;
    if (shownDay && shownDay !== day && MODE === "start") reloadOnce();
    shownDay = day;
  }
  tick();
  setInterval(tick, 1000);

  // --- idle tracking -----------------------------------------------------------------------
  var lastTouch = Date.now(); // the page load counts as a touch (it follows a tap)
  var lastRealTouch = 0;
  function idleFor() { return Date.now() - lastTouch; }
  ["pointerdown", "keydown", "touchstart"].forEach(function (name) {
    document.addEventListener(name, function () {
      lastTouch = lastRealTouch = Date.now();
      countFrom = null;
    }, true);
  });

  // --- countdown back to the start (ticket and sub-matter screens) -----------------------
  var countFrom = null;
  function countdown(seconds, resetOnTouch) {
    var left = seconds;
    var el = $("k-seconds");
    var started = Date.now();
    countFrom = started;
    setInterval(function () {
      if (resetOnTouch && countFrom === null) { started = Date.now(); countFrom = started; }
      left = Math.max(0, seconds - Math.floor((Date.now() - started) / 1000));
      setText(el, left);
      if (left <= 0) goHome();
    }, 250);
  }

  if (MODE === "ticket") {
    // A reload or "back" must never take a second number nor show this ticket again.
    try { history.replaceState(null, "", HOME); } catch (e) { /* old browsers */ }
    countdown(parseInt(D["return"], 10) || 12, false);
    return;
  }
  if (MODE === "matters" || MODE === "materials") {
    countdown(parseInt(D.idle, 10) || 45, true);
  }

  // --- one tap, one ticket -----------------------------------------------------------------
  var busy = false;
  var form = $("k-form");
  if (form) {
    form.addEventListener("submit", function (e) {
      if (busy) { e.preventDefault(); return; }
      busy = true;
      // Do not disable the tapped button: a disabled submitter sends no value.
      $("k-busy").hidden = false;
      setTimeout(function () { busy = false; $("k-busy").hidden = true; }, 20000);
    });
  }
  window.addEventListener("pageshow", function (e) {
    if (e.persisted) { busy = false; $("k-busy").hidden = true; }
  });

  // Dialogs (:target) and the error banner go away by themselves.
  setInterval(function () {
    var idle = idleFor();
    if (window.location.hash && window.location.hash !== "#" && idle > (parseInt(D.idle, 10) || 45) * 1000) {
      window.location.hash = "";
    }
    var err = $("k-error");
    if (err && !err.hidden && idle > 15000) err.hidden = true;
    if (MODE === "start" && idle > 30 * 60 * 1000) reloadOnce();
  }, 1000);

  // --- live numbers --------------------------------------------------------------------------
  var tiles = {};
  document.querySelectorAll("[data-code]").forEach(function (el) {
    var code = el.getAttribute("data-code");
    if (el.classList.contains("k-tile")) tiles[code] = el;
  });

  function applyCounts(counts) {
    Object.keys(counts || {}).forEach(function (code) {
      document.querySelectorAll('[data-code="' + code + '"] [data-f="waiting"], [data-f="waiting"][data-code="' + code + '"]')
        .forEach(function (b) { setText(b, counts[code]); });
    });
  }

  function applyServices(list) {
    var codes = list.map(function (s) { return s.code; }).join(",");
    // The hall's hours close every service with the hall's reason (hall.hours).
    var hoursClosed = list.length > 0 && list.every(function (s) {
      var why = s.closed_reason || "";
      return !s.open && (why.indexOf("办理时间") >= 0 || why.indexOf("大厅暂停服务") >= 0);
    });
    var wasOpen = D.open === "1";
    if (codes !== (D.codes || "") || hoursClosed === wasOpen) {
      if (MODE === "start") reloadOnce();
      return;
    }
    list.forEach(function (s) {
      var tile = tiles[s.code];
      if (!tile) return;
      var cell = tile.parentNode;
      var q = function (f) { return cell.querySelector('[data-f="' + f + '"]'); };
      setText(q("waiting"), s.waiting);
      setText(q("eta"), s.eta_minutes);
      tile.disabled = !s.open;
      tile.classList.toggle("off", !s.open);
      var stat = q("stat"), reason = q("reason"), book = q("book");
      if (stat) stat.hidden = !s.open;
      if (reason) { reason.hidden = s.open; setText(reason, s.closed_reason || ""); }
      if (book) book.hidden = !(s.remaining === 0);
    });
  }

  // Re-render from the server, at most once a minute (never a reload loop).
  function reloadOnce() {
    if (busy || Date.now() - lastRealTouch < 5000) return; // someone is using the screen
    var last = 0;
    try { last = parseInt(sessionStorage.getItem("kioskReloadAt") || "0", 10); } catch (e) { /* private mode */ }
    if (Date.now() - last < 60000) return;
    try { sessionStorage.setItem("kioskReloadAt", String(Date.now())); } catch (e) { /* ignore */ }
    window.location.reload();
  }

  var refreshTimer = null;
  function refresh() {
    refreshTimer = null;
    window.kioskRefreshes += 1;
    Hall.api("GET", "/api/services")
      .then(function (list) { if (Array.isArray(list)) applyServices(list); })
      .catch(function () { /* offline: keep what is shown */ });
  }
  function soon() {
    if (!refreshTimer) refreshTimer = setTimeout(refresh, 800);
  }
  setInterval(refresh, 60000);

  var link = $("k-link");
  window.kioskSocket = Hall.connect("/kiosk", {
    queue: function (counts) { applyCounts(counts); soon(); }
  }, {
    snapshot: soon, // every (re)connect reads the services again
    status: function (online) { if (link) link.classList.toggle("down", !online); }
  });
})();
