/* Live board: Socket.IO /supervisor events re-fetch the server-rendered board; a ticker
   keeps the "how long" timers running between events. */
(function () {
  "use strict";
  var live = document.getElementById("board-live");
  var status = document.getElementById("live-status");
  if (!live) return;
  var pending = null;
  var inflight = false;
  var again = false;

  function syncClock() {
    var board = live.querySelector(".board");
    if (board) Hall.setServerNow(board.getAttribute("data-now") || "");
  }

  function tick() {
    var now = Hall.serverNow();
    live.querySelectorAll("[data-since]").forEach(function (el) {
      var since = Date.parse(el.getAttribute("data-since"));
      if (!since) return;
      var sec = Math.floor((now - since) / 1000);
      el.textContent = Hall.durationCN(sec);
      var target = parseInt(el.getAttribute("data-target") || "0", 10);
      if (target) {
        var over = sec > target;
        el.classList.toggle("over", over);
        var row = el.closest("tr");
        if (row) row.classList.toggle("over", over);
      }
    });
  }

  function refresh() {
    pending = null;
    if (inflight) { again = true; return; }
    inflight = true;
    fetch("/supervisor/board/fragment", { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) {
        if (r.status === 401 || r.status === 403 || r.redirected) {
          window.location.reload();
          throw new Error("session");
        }
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.text();
      })
      .then(function (html) {
        live.innerHTML = html;
        syncClock();
        tick();
      })
      .catch(function () {})
      .then(function () {
        inflight = false;
        if (again) { again = false; schedule(); }
      });
  }

  function schedule() {
    if (!pending) pending = setTimeout(refresh, 250);
  }

  function setLive(on) {
    if (!status) return;
    status.textContent = status.getAttribute(on ? "data-on" : "data-off");
    status.classList.toggle("off", !on);
  }

  syncClock();
  tick();
  setInterval(tick, 1000);
  setInterval(schedule, 30000); // a safety net if an event was missed

  var handlers = {
    event: function (e) {
      if (e && e.type === "rated" && e.bad) {
        Hall.toast("新差评：" + e.number + " " + (e.service_name || "") +
          (e.window ? " " + e.window + "号窗口" : ""), "bad");
      }
      schedule();
    }
  };
  ["snapshot", "queue", "called", "window", "printer"].forEach(function (name) {
    handlers[name] = schedule;
  });
  // Every (re)connect re-reads the board: events missed while away are in it.
  Hall.connect("/supervisor", handlers, { snapshot: schedule, status: setLive });
})();
