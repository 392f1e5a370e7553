/* Shared helpers of the counter face: API calls with CSRF, a toast, the clock, logout. */
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute("content") : "";

  function chinese(message) {
    // Server messages read "中文 (english)": staff screens show the Chinese part.
    if (!message) return "操作失败";
    var i = message.indexOf(" (");
    return i > 0 ? message.slice(0, i) : message;
  }

  function api(method, url, body) {
    var opts = { method: method, headers: { "Accept": "application/json" }, credentials: "same-origin" };
    if (method !== "GET") {
      opts.headers["Content-Type"] = "application/json";
      if (csrf) opts.headers["X-CSRF-Token"] = csrf;
      opts.body = JSON.stringify(body || {});
    }
    return fetch(url, opts).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) {
          var err = new Error(chinese(data.error || ("HTTP " + r.status)));
          err.status = r.status;
          throw err;
        }
        return data;
      });
    });
  }

  var toastTimer = null;
  function toast(text, kind) {
    var el = document.getElementById("toast");
    if (!el) return;
    el.textContent = text;
    el.className = "toast " + (kind || "error");
    el.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { el.hidden = true; }, kind === "ok" ? 2500 : 5000);
  }

  function pad2(n) { return (n < 10 ? "0" : "") + n; }
  function duration(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    return (h ? h + ":" + pad2(m) : pad2(m)) + ":" + pad2(s);
  }

  // Server time minus local time, so timers follow the server's clock; the clock shows
  // the hall's local time (its UTC offset comes with every server time).
  var offset = 0, hallZone = 0;
  function setServerNow(iso) {
    var t = Date.parse(iso);
    if (isNaN(t)) return;
    offset = t - Date.now();
    var m = /([+-])(\d\d):(\d\d)$/.exec(iso);
    if (m) hallZone = (m[1] === "-" ? -1 : 1) * (parseInt(m[2], 10) * 60 + parseInt(m[3], 10)) * 60000;
  }
  function serverNow() { return Date.now() + offset; }
  var nowMeta = document.querySelector('meta[name="hall-now"]');
  if (nowMeta) setServerNow(nowMeta.getAttribute("content"));

  function tickClock() {
    var el = document.getElementById("clock");
    if (!el) return;
    var d = new Date(serverNow() + hallZone);
    el.textContent = pad2(d.getUTCHours()) + ":" + pad2(d.getUTCMinutes()) + ":" + pad2(d.getUTCSeconds());
  }
  setInterval(tickClock, 1000);
  tickClock();

  var logout = document.getElementById("btn-logout");
  if (logout) {
    logout.addEventListener("click", function () {
      api("POST", "/api/logout").then(function () { location.reload(); }, function (e) { toast(e.message); });
    });
  }

  window.Hall = {
    api: api, toast: toast, duration: duration, setServerNow: setServerNow,
    serverNow: serverNow, chinese: chinese, csrf: function () { return csrf; }
  };
})();
