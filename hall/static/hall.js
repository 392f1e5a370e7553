/* hall.js: what every face's pages share (loaded by hall/templates/base.html).
 *
 *   Hall.api(method, url, body[, opts])   JSON request; CSRF header on writes; rejects with an
 *                                         Error whose message is the server's Chinese text
 *   Hall.toast(message, kind)             a short message: kind "error" (default), "ok", "bad", "info"
 *   Hall.connect(namespace, handlers, options)
 *                                         a Socket.IO client that reconnects with backoff and
 *                                         re-requests the page's state on every (re)connect
 *   Hall.el(tag, cls, text), Hall.setText(elOrId, text)
 *                                         build and fill elements with text (never markup)
 *   Hall.setServerNow(iso|ms), Hall.serverNow(), Hall.hallTime(ms), Hall.dateText(parts, week),
 *   Hall.timeText(parts, seconds), Hall.duration(seconds), Hall.durationCN(seconds)
 *                                         the server's clock in the hall's timezone
 *   Hall.chinese(message)                 the Chinese part of "中文 (english)"
 *
 * The page tells it: <meta name="csrf-token"> (staff pages), <meta name="hall-now"> (the
 * server's time when the page was rendered), <meta name="hall-tz"> (the hall's timezone).
 * Elements with data-logout log out on click (then go to the attribute's URL, or reload);
 * elements with data-clock="hms|hm|date|date-short" show the hall's time, every second.
 * Debug hook: window.hallLinks[namespace] = {socket, connects, attempts (times of the
 * reconnection attempts), snapshots (times the state was asked for again), online}.
 */
(function () {
  "use strict";

  function meta(name) {
    var m = document.querySelector('meta[name="' + name + '"]');
    return m ? m.getAttribute("content") || "" : "";
  }

  // ------------------------------------------------------------------ text and elements
  function chinese(message) {
    // Server messages read "中文 (english)": the pages show the Chinese part.
    if (!message) return "操作失败";
    message = String(message);
    var i = message.indexOf(" (");
    return i > 0 ? message.slice(0, i) : message;
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function setText(target, text) {
    var e = typeof target === "string" ? document.getElementById(target) : target;
    text = text === null || text === undefined ? "" : String(text);
    if (e && e.textContent !== text) e.textContent = text;
    return e;
  }

  // ------------------------------------------------------------------ API
  var csrfToken = meta("csrf-token");
  var csrfAsked = null; // the /api/me request, when the page has no token of its own

  function csrf() {
    if (csrfToken) return Promise.resolve(csrfToken);
    if (!csrfAsked) {
      csrfAsked = fetch("/api/me", { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : {}; })
        .then(function (d) { csrfToken = (d && d.csrf_token) || ""; return csrfToken; })
        .catch(function () { csrfAsked = null; return ""; });
    }
    return csrfAsked;
  }

  function forgetCsrf() {
    csrfToken = "";
    csrfAsked = null;
  }

  /* JSON in and out. Writes carry X-CSRF-Token (the page's meta tag, else /api/me).
   * opts.credentials: "omit" for citizens' pages (no session, no CSRF look-up). */
  function api(method, url, body, opts) {
    method = (method || "GET").toUpperCase();
    opts = opts || {};
    var write = method !== "GET" && method !== "HEAD";
    var credentials = opts.credentials || "same-origin";
    var token = write && credentials !== "omit" && url !== "/api/login" ? csrf() : Promise.resolve("");
    return token.then(function (t) {
      var init = { method: method, credentials: credentials, headers: { Accept: "application/json" } };
      if (!write) init.cache = "no-store";
      if (t) init.headers["X-CSRF-Token"] = t;
      if (write) {
        init.headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(body === undefined || body === null ? {} : body);
      }
      return fetch(url, init);
    }).then(function (r) {
      if (/^\/api\/log(in|out)$/.test(url)) forgetCsrf(); // a new session, a new token
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) {
          var err = new Error(chinese((data && data.error) || "请求失败（" + r.status + "）"));
          err.status = r.status;
          err.data = data;
          throw err;
        }
        return data;
      });
    }, function (e) {
      if (e && e.status) throw e;
      var err = new Error("网络不通，请稍后重试");
      err.status = 0;
      throw err;
    });
  }

  // ------------------------------------------------------------------ toast
  var toastTimer = null;
  function toast(message, kind) {
    var box = document.getElementById("toast");
    if (!box) {
      box = el("div", "toast");
      box.id = "toast";
      box.setAttribute("role", "alert");
      box.setAttribute("aria-live", "assertive");
      document.body.appendChild(box);
    }
    kind = kind || "error";
    box.textContent = String(message);
    box.className = "toast " + kind;
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { box.hidden = true; }, kind === "ok" ? 2500 : 5000);
  }

  // ------------------------------------------------------------------ server clock
  // Server time minus this PC's time, so clocks and timers follow the server; shown in
  // the hall's timezone (a named zone when the browser knows it, else the server's offset).
  var skew = 0;
  var zoneOffset = null; // ms east of UTC, from the last server time with an offset
  var TZ = meta("hall-tz") || "Asia/Shanghai";

  function setServerNow(value) {
    var t = typeof value === "number" ? value : Date.parse(value);
    if (isNaN(t)) return;
    skew = t - Date.now();
    var m = typeof value === "string" && /([+-])(\d\d):(\d\d)$/.exec(value);
    if (m) zoneOffset = (m[1] === "-" ? -1 : 1) * (parseInt(m[2], 10) * 60 + parseInt(m[3], 10)) * 60000;
  }
  function serverNow() {
    return Date.now() + skew;
  }

  var WEEK_EN = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };
  var WEEK_CN = "日一二三四五六";
  var partsFmt = null;
  try {
    partsFmt = new Intl.DateTimeFormat("en-US", {
      timeZone: TZ, year: "numeric", month: "numeric", day: "numeric", weekday: "short",
      hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23"
    });
  } catch (e) {
    partsFmt = null; // an unknown zone name: use the server's offset
  }

  /* {year, month, day, hour, minute, second, weekday (0 = Sunday)} in the hall's timezone. */
  function hallTime(ms) {
    var d = new Date(ms === undefined ? serverNow() : ms);
    if (partsFmt) {
      var p = {};
      partsFmt.formatToParts(d).forEach(function (x) { p[x.type] = x.value; });
      return {
        year: +p.year, month: +p.month, day: +p.day, hour: +p.hour % 24, minute: +p.minute,
        second: +p.second, weekday: WEEK_EN[p.weekday]
      };
    }
    var u = new Date(d.getTime() + (zoneOffset === null ? -d.getTimezoneOffset() * 60000 : zoneOffset));
    return {
      year: u.getUTCFullYear(), month: u.getUTCMonth() + 1, day: u.getUTCDate(), hour: u.getUTCHours(),
      minute: u.getUTCMinutes(), second: u.getUTCSeconds(), weekday: u.getUTCDay()
    };
  }

  function pad2(n) {
    return (n < 10 ? "0" : "") + n;
  }
  /* 2026年11月30日 星期一 (week = "星期", or "周" for 周一). */
  function dateText(p, week) {
    return p.year + "年" + p.month + "月" + p.day + "日 " + (week || "星期") + WEEK_CN.charAt(p.weekday);
  }
  /* 09:05 or 09:05:07 */
  function timeText(p, seconds) {
    return pad2(p.hour) + ":" + pad2(p.minute) + (seconds ? ":" + pad2(p.second) : "");
  }
  /* 05:07 or 1:05:07 */
  function duration(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    return (h ? h + ":" + pad2(m) : pad2(m)) + ":" + pad2(s);
  }
  /* 1时05分, 5分07秒, 7秒 */
  function durationCN(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    if (h) return h + "时" + pad2(m) + "分";
    if (m) return m + "分" + pad2(s) + "秒";
    return s + "秒";
  }

  var renderedAt = meta("hall-now");
  if (renderedAt) setServerNow(renderedAt);

  // Clocks: <span data-clock="hms|hm|date|date-short"> shows the hall's time, every second.
  var CLOCKS = {
    hms: function (p) { return timeText(p, true); },
    hm: function (p) { return timeText(p, false); },
    date: function (p) { return dateText(p, "星期"); },
    "date-short": function (p) { return dateText(p, "周"); }
  };
  function tickClocks() {
    var els = document.querySelectorAll("[data-clock]");
    if (!els.length) return;
    var p = hallTime();
    els.forEach(function (e) {
      var f = CLOCKS[e.getAttribute("data-clock")];
      if (f) setText(e, f(p));
    });
  }
  tickClocks();
  setInterval(tickClocks, 1000);

  // ------------------------------------------------------------------ Socket.IO
  var links = {};
  window.hallLinks = links;

  /* A Socket.IO client on `namespace` (the vendored client, /static/vendor/socket.io.min.js).
   *   handlers: {event: fn(payload)}
   *   options.auth        sent on every connect
   *   options.snapshot    fn(socket), called on every connect and reconnect: ask for the
   *                       state again (emit with an ack, or a fetch); nothing is assumed
   *                       about what happened while the link was down
   *   options.status      fn(online), on every change
   *   options.transports  default ["websocket", "polling"]
   * Reconnects by itself: after 0.5 s, doubling to at most 5 s, with jitter (so a hundred
   * screens do not come back in step), for ever; also after the server dropped it.
   * Refused (the server is up but has as many live connections as it takes: 503 with
   * Retry-After on the handshake, which a browser does not show a page): when a connect
   * fails while /healthz answers, it waits 15-30 s between attempts until it is back
   * (link.refused counts these). Returns the socket (null without the Socket.IO client). */
  function connect(namespace, handlers, options) {
    options = options || {};
    var link = { namespace: namespace, connects: 0, attempts: [], snapshots: 0, online: false };
    links[namespace] = link;
    function status(online) {
      if (link.online === online && link.connects) return;
      link.online = online;
      if (options.status) options.status(online);
    }
    if (typeof window.io !== "function") {
      status(false);
      return null;
    }
    var socket = window.io(namespace, {
      auth: options.auth || {},
      transports: options.transports || ["websocket", "polling"],
      reconnection: true,
      reconnectionAttempts: Infinity,
      reconnectionDelay: 500,
      reconnectionDelayMax: 5000,
      randomizationFactor: 0.5,
      timeout: 8000
    });
    link.socket = socket;
    var retry = null;
    var delay = 500;
    var slow = false;
    socket.on("connect", function () {
      link.connects += 1;
      delay = 500;
      if (slow) {
        slow = false;
        socket.io.reconnectionDelay(500);
        socket.io.reconnectionDelayMax(5000);
      }
      status(true);
      if (options.snapshot) {
        link.snapshots += 1;
        options.snapshot(socket);
      }
    });
    socket.on("disconnect", function (reason) {
      status(false);
      if (reason === "io server disconnect") {
        // The server closed this namespace (Socket.IO does not retry that by itself).
        clearTimeout(retry);
        retry = setTimeout(function () { if (!socket.connected) socket.connect(); }, delay);
        delay = Math.min(delay * 2, 5000);
      }
    });
    socket.on("connect_error", function () {
      status(false);
      if (slow || !window.fetch) return;
      window.fetch("/healthz", { cache: "no-store", credentials: "omit" }).then(function (r) {
        if (!r.ok || slow || socket.connected) return;
        slow = true;
        link.refused = (link.refused || 0) + 1;
        socket.io.reconnectionDelay(15000);
        socket.io.reconnectionDelayMax(30000);
      }, function () { /* the server is down: keep trying at the quick pace */ });
    });
    socket.io.on("reconnect_attempt", function () { link.attempts.push(Date.now()); });
    Object.keys(handlers || {}).forEach(function (name) {
      socket.on(name, handlers[name]);
    });
    return socket;
  }

  // ------------------------------------------------------------------ logout
  document.querySelectorAll("[data-logout]").forEach(function (b) {
    b.addEventListener("click", function () {
      var next = b.getAttribute("data-logout");
      api("POST", "/api/logout").then(function () {
        if (next) window.location.href = next; else window.location.reload();
      }, function (e) {
        if (next) window.location.href = next; else toast(e.message);
      });
    });
  });

  window.Hall = {
    api: api,
    toast: toast,
    connect: connect,
    chinese: chinese,
    el: el,
    setText: setText,
    setServerNow: setServerNow,
    serverNow: serverNow,
    hallTime: hallTime,
    dateText: dateText,
    timeText: timeText,
    duration: duration,
    durationCN: durationCN,
    pad2: pad2
  };
})();
