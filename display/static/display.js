/* Hall display and window display: keep the server-rendered page live.
 *
 * - On every (re)connect the server sends a `snapshot`; the page redraws from it, so a
 *   screen that lost the network or was rebooted shows the right state at once.
 * - Every call has an id (ticket_events id). The ids already announced are kept in
 *   localStorage, per page address: after a reconnect (or a reboot) the calls in the
 *   snapshot that were never announced are announced, oldest first, each exactly once;
 *   a recall has a new id and is announced again.
 * - Announcements play one after another from a queue (never cut off).
 *
 * Debug/test hooks: window.hallAnnounced (every announcement), window.hallPlayed
 * (audio playback log), window.hallSocket (the Socket.IO client).
 */
(function () {
  "use strict";

  var D = document.body.dataset;
  var KIND = D.kind; // "hall" | "window"
  var opts = {
    services: D.services ? D.services.split(",") : [],
    layout: D.layout || "standard",
    group: D.group || "service",
    recent: parseInt(D.recent, 10) || 8,
    highlight: parseInt(D.highlight, 10) || 0,
    replay: D.replay === undefined ? 300 : parseInt(D.replay, 10),
    voice: D.voice === "1",
    tz: D.tz || "Asia/Shanghai",
    window: D.window ? parseInt(D.window, 10) : null,
  };
  var MAX_CALLS = 30;
  var RESYNC_MS = 5 * 60 * 1000;

  var state = { calls: [], queue: {}, windows: [], services: [], hall: "", notice: "" };
  var ready = false; // the server-rendered page stands until the first snapshot

  // ------------------------------------------------------------------ small helpers
  function $(id) {
    return document.getElementById(id);
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function setText(id, text) {
    var e = $(id);
    if (e && e.textContent !== text) e.textContent = text;
  }
  function replaceChildren(parent, nodes) {
    if (!parent) return;
    while (parent.firstChild) parent.removeChild(parent.firstChild);
    nodes.forEach(function (n) {
      parent.appendChild(n);
    });
  }
  function byIdAsc(a, b) {
    return a.id - b.id;
  }
  function windowName(c) {
    return c.window_name || c.window + "号窗口";
  }

  // ------------------------------------------------------------------ clock (hall time)
  var skew = 0; // server clock - this PC's clock, in ms
  function setServerTime(iso) {
    var t = Date.parse(iso);
    if (!isNaN(t)) skew = t - Date.now();
  }
  var WEEK = { Mon: "一", Tue: "二", Wed: "三", Thu: "四", Fri: "五", Sat: "六", Sun: "日" };
  var partsFmt = new Intl.DateTimeFormat("en-US", {
    timeZone: opts.tz,
    year: "numeric",
    month: "numeric",
    day: "numeric",
    weekday: "short",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  });
  function tick() {
    var p = {};
    partsFmt.formatToParts(new Date(Date.now() + skew)).forEach(function (x) {
      p[x.type] = x.value;
    });
    setText("d-date", p.year + "年" + p.month + "月" + p.day + "日 星期" + (WEEK[p.weekday] || ""));
    var time = p.hour + ":" + p.minute;
    setText("d-clock", KIND === "window" ? time : time + ":" + p.second);
  }
  setServerTime(D.now);
  tick();
  setInterval(tick, 1000);

  // ------------------------------------------------------------------ calls seen
  // floor: ids at or below it are never announced; seen: ids above it already handled.
  var STORE_KEY = "hallDisplay:" + location.pathname + location.search;
  var floor = parseInt(D.lastEventId, 10) || 0; // first start: nothing old is announced
  var seen = new Set();
  try {
    var saved = JSON.parse(localStorage.getItem(STORE_KEY) || "null");
    if (saved && typeof saved.floor === "number" && Array.isArray(saved.seen)) {
      floor = saved.floor; // a reboot: calls made while it was off are still announced
      seen = new Set(saved.seen);
    }
  } catch (e) {
    /* private mode or broken value: start from the page */
  }
  function persist() {
    if (seen.size > 300) {
      var ids = Array.from(seen).sort(function (a, b) {
        return a - b;
      });
      var drop = ids.slice(0, ids.length - 200);
      floor = Math.max(floor, drop[drop.length - 1]);
      drop.forEach(function (id) {
        seen.delete(id);
      });
    }
    try {
      localStorage.setItem(STORE_KEY, JSON.stringify({ floor: floor, seen: Array.from(seen) }));
    } catch (e) {
      /* storage full or disabled: memory still de-duplicates */
    }
  }
  function isNew(call) {
    return call && typeof call.id === "number" && call.id > floor && !seen.has(call.id);
  }
  function maxSeen() {
    var m = floor;
    seen.forEach(function (id) {
      if (id > m) m = id;
    });
    return m;
  }

  // Which calls this display is about.
  function relevant(call) {
    if (KIND === "window") return call.window === opts.window;
    return !opts.services.length || opts.services.indexOf(call.service) >= 0;
  }

  // ------------------------------------------------------------------ voice queue
  var audio = $("d-audio");
  var queue = [];
  var playing = null;
  var guard = null;
  window.hallAnnounced = [];
  window.hallPlayed = [];

  function announce(call) {
    window.hallAnnounced.push({
      id: call.id,
      number: call.number,
      window: call.window,
      recall: !!call.recall,
      audio: call.audio || null,
    });
    if (!opts.voice || !call.audio || !audio) return;
    queue.push(call);
    if (!playing) playNext();
  }

  function playNext() {
    clearTimeout(guard);
    playing = queue.shift() || null;
    if (!playing) return;
    var rec = { id: playing.id, url: playing.audio, start: Date.now(), end: null, result: null };
    window.hallPlayed.push(rec);
    var done = false;
    function finish(result) {
      if (done) return;
      done = true;
      clearTimeout(guard);
      rec.end = Date.now();
      rec.result = result;
      audio.onended = audio.onerror = audio.onloadedmetadata = null;
      setTimeout(playNext, 300); // a short breath between two calls
    }
    audio.onended = function () {
      finish("ended");
    };
    audio.onerror = function () {
      finish("error");
    };
    audio.onloadedmetadata = function () {
      // never stuck: give up a little after the clip should have ended
      if (isFinite(audio.duration)) {
        clearTimeout(guard);
        guard = setTimeout(function () {
          finish("timeout");
        }, (audio.duration + 5) * 1000);
      }
    };
    guard = setTimeout(function () {
      finish("timeout");
    }, 30000);
    audio.src = playing.audio;
    var p = audio.play();
    if (p && p.catch) {
      p.catch(function (err) {
        var name = (err && err.name) || "failed";
        if (name === "NotAllowedError") {
          var badge = $("d-sound");
          if (badge) badge.hidden = false; // autoplay blocked: see docs/display.md
        }
        finish(name);
      });
    }
  }

  // A click on a screen whose browser blocks autoplay unlocks sound.
  document.addEventListener("click", function () {
    var badge = $("d-sound");
    if (badge) badge.hidden = true;
    if (audio && !playing) {
      audio.muted = true;
      var p = audio.play();
      if (p && p.catch) p.catch(function () {});
      audio.pause();
      audio.muted = false;
    }
  });

  // ------------------------------------------------------------------ highlight
  var flashTimer = null;
  function flash() {
    var box = $(KIND === "window" ? "w-main" : "d-latest");
    if (!box || opts.highlight <= 0) return;
    box.classList.remove("flash");
    void box.offsetWidth; // restart the animation
    box.classList.add("flash");
    clearTimeout(flashTimer);
    flashTimer = setTimeout(function () {
      box.classList.remove("flash");
    }, opts.highlight * 1000);
  }

  // ------------------------------------------------------------------ rendering
  // Mirrors display/templates/display/parts.html.
  function board() {
    var keys = new Set();
    var out = [];
    state.calls
      .filter(relevant)
      .slice()
      .sort(function (a, b) {
        return b.id - a.id;
      })
      .forEach(function (c) {
        var key = c.ticket_id + "@" + c.window;
        if (keys.has(key)) return;
        keys.add(key);
        out.push(c);
      });
    return out;
  }

  function latestNodes(c) {
    if (!c) return [el("div", "d-idle", "请留意叫号"), el("div", "d-big-svc", "叫号后将在此显示")];
    var win = el("div", "d-big-win");
    win.appendChild(el("span", "d-goto", "请到"));
    win.appendChild(el("span", "d-win-name", windowName(c)));
    win.appendChild(el("span", "d-goto", "办理"));
    var svc = el("div", "d-big-svc", c.service_name);
    if (c.recall) svc.appendChild(el("span", "d-tag", "重呼"));
    return [el("div", "d-big-num", c.number), win, svc];
  }

  function callItem(c) {
    var li = el("li", "d-call");
    li.dataset.id = c.id;
    li.appendChild(el("span", "d-num", c.number));
    li.appendChild(el("span", "d-win", windowName(c)));
    if (c.recall) li.appendChild(el("span", "d-tag", "重呼"));
    return li;
  }

  function queueRows() {
    var rows = [];
    var index = {};
    state.services.forEach(function (s) {
      if (opts.services.length && opts.services.indexOf(s.code) < 0) return;
      var dept = opts.group === "department";
      var key = dept ? s.department : s.code;
      if (!index[key]) {
        index[key] = { label: dept ? s.department : s.name, waiting: 0 };
        rows.push(index[key]);
      }
      index[key].waiting += state.queue[s.code] || 0;
    });
    return rows;
  }

  function queueItem(r) {
    var li = el("li");
    li.appendChild(el("span", "d-q-name", r.label));
    li.appendChild(el("span", "d-q-count", r.waiting));
    li.appendChild(el("span", "d-q-unit", "人"));
    return li;
  }

  function zoneWindows() {
    if (!opts.services.length) return state.windows;
    return state.windows.filter(function (w) {
      return (w.services || []).concat(w.secondary || []).some(function (code) {
        return opts.services.indexOf(code) >= 0;
      });
    });
  }

  function windowCard(w) {
    var card = el("div", "d-wcard state-" + w.state);
    card.dataset.window = w.number;
    card.appendChild(el("div", "d-wname", w.name));
    if (w.state === "closed") card.appendChild(el("div", "d-wstate", "窗口已关闭"));
    else if (w.state === "paused") card.appendChild(el("div", "d-wstate", "暂停服务"));
    else if (w.current) card.appendChild(el("div", "d-wnum", w.current.number));
    else card.appendChild(el("div", "d-wstate", "等待叫号"));
    return card;
  }

  function renderHall() {
    var calls = board();
    setText("d-hall", state.hall);
    replaceChildren($("d-latest-body"), latestNodes(calls[0]));
    replaceChildren($("d-recent"), calls.slice(1, opts.recent + 1).map(callItem));
    var q = $("d-queue");
    if (q) {
      var rows = queueRows();
      q.className = "d-queue-list rows-" + (rows.length > 8 ? "many" : rows.length > 5 ? "some" : "few");
      replaceChildren(q, rows.map(queueItem));
    }
    var grid = $("d-windows");
    if (grid) {
      var ws = zoneWindows();
      grid.className = "d-wgrid cols-" + (ws.length > 6 ? 4 : 3);
      replaceChildren(grid, ws.map(windowCard));
    }
    var notice = $("d-notice");
    if (notice) {
      notice.hidden = !state.notice;
      var text = $("d-notice-text");
      if (text && text.textContent !== state.notice) {
        text.textContent = state.notice;
        text.style.animationDuration = Math.max(20, Math.floor(state.notice.length / 2) + 12) + "s";
      }
    }
  }

  function serviceName(code) {
    for (var i = 0; i < state.services.length; i++) {
      if (state.services[i].code === code) return state.services[i].name;
    }
    return code;
  }

  function windowBody(w) {
    var out = [];
    if (w.state === "closed") {
      out.push(el("div", "w-state", "窗口已关闭"), el("div", "w-sub", "请到其他窗口办理"));
    } else if (w.state === "paused") {
      out.push(el("div", "w-state", "暂停服务"));
      if (w.pause_reason && w.pause_reason !== "暂停服务") out.push(el("div", "w-sub", w.pause_reason));
    } else if (w.current && w.current.status === "called") {
      var line = el("div", "w-line");
      line.appendChild(el("span", "w-label", "请"));
      line.appendChild(el("span", "w-num", w.current.number));
      line.appendChild(el("span", "w-label", "号"));
      out.push(line, el("div", "w-sub", "到本窗口办理"));
    } else if (w.current) {
      var serving = el("div", "w-line");
      serving.appendChild(el("span", "w-num", w.current.number));
      out.push(el("div", "w-caption", "正在办理"), serving);
    } else {
      out.push(el("div", "w-idle", "欢迎光临"), el("div", "w-sub", "请留意叫号"));
    }
    return out;
  }

  function myWindow() {
    for (var i = 0; i < state.windows.length; i++) {
      if (state.windows[i].number === opts.window) return state.windows[i];
    }
    return null;
  }

  function renderWindow() {
    var w = myWindow();
    if (!w) return;
    setText("w-name", w.name);
    var main = $("w-main");
    // a blink only while a number is being called here
    var flashing = main.classList.contains("flash") && w.state === "open" && !!w.current;
    main.className = "w-main state-" + w.state + (w.current ? " has-current" : "") + (flashing ? " flash" : "");
    replaceChildren($("w-body"), windowBody(w));
    setText(
      "w-services",
      "办理业务：" + (w.services || []).concat(w.secondary || []).map(serviceName).join(" · ")
    );
  }

  function render() {
    if (!ready) return;
    if (KIND === "window") renderWindow();
    else renderHall();
  }

  // ------------------------------------------------------------------ applying data
  function mergeCall(call) {
    for (var i = 0; i < state.calls.length; i++) if (state.calls[i].id === call.id) return;
    state.calls.push(call);
    state.calls.sort(function (a, b) {
      return b.id - a.id;
    });
    if (state.calls.length > MAX_CALLS) state.calls.length = MAX_CALLS;
  }

  function applySnapshot(snap) {
    if (!snap || !Array.isArray(snap.calls)) return;
    setServerTime(snap.at);
    // A database younger than what this screen remembers (a reset): start from it.
    if (typeof snap.last_event_id === "number" && maxSeen() > snap.last_event_id) {
      floor = snap.last_event_id;
      seen.clear();
    }
    state.calls = snap.calls.slice();
    state.queue = snap.queue || {};
    state.windows = snap.windows || [];
    state.services = snap.services || [];
    state.hall = snap.hall || "";
    state.notice = snap.notice || "";
    ready = true;
    render();
    // Calls made while this screen was away: announce them, oldest first, once each.
    var at = Date.parse(snap.at);
    var missed = snap.calls.filter(isNew).sort(byIdAsc);
    var announced = false;
    missed.forEach(function (c) {
      seen.add(c.id);
      var age = (at - Date.parse(c.at)) / 1000;
      if (relevant(c) && !(age > opts.replay)) {
        announce(c);
        announced = true;
      }
    });
    if (missed.length) persist();
    if (announced) flash();
  }

  function onCalled(call) {
    if (!call || typeof call.id !== "number") return;
    mergeCall(call);
    // the window's current ticket (window screens and the windows layout)
    state.windows.forEach(function (w) {
      if (w.number === call.window) {
        w.current = {
          id: call.ticket_id,
          number: call.number,
          service: call.service,
          status: "called",
          called_at: call.at,
        };
      }
    });
    render();
    if (!isNew(call)) return; // already announced (e.g. it came in a snapshot first)
    seen.add(call.id);
    persist();
    if (relevant(call)) {
      announce(call);
      flash();
    }
  }

  function onWindow(w) {
    if (!w || typeof w.number !== "number") return;
    var found = false;
    state.windows = state.windows.map(function (x) {
      if (x.number !== w.number) return x;
      found = true;
      return Object.assign({}, x, w);
    });
    if (!found && w.services) state.windows.push(w);
    render();
  }

  function onQueue(q) {
    if (!q || typeof q !== "object") return;
    state.queue = q;
    if (KIND === "hall") render();
  }

  // ------------------------------------------------------------------ connection
  function setOnline(online) {
    var badge = $("d-offline");
    if (badge) badge.hidden = online;
    document.body.dataset.online = online ? "1" : "0";
  }

  if (typeof io !== "function") {
    setOnline(false);
    return;
  }
  var filter = opts.services.length ? { services: opts.services } : {};
  var socket = io("/display", {
    auth: filter,
    reconnection: true,
    reconnectionAttempts: Infinity,
    reconnectionDelay: 500, // then 1 s, 2 s, 4 s ... (with jitter)
    reconnectionDelayMax: 5000,
    randomizationFactor: 0.5,
    timeout: 8000,
  });
  window.hallSocket = socket;
  socket.on("connect", function () {
    setOnline(true);
  });
  socket.on("disconnect", function () {
    setOnline(false);
  });
  socket.on("connect_error", function () {
    setOnline(false);
  });
  socket.on("snapshot", applySnapshot);
  socket.on("called", onCalled);
  socket.on("window", onWindow);
  socket.on("queue", onQueue);

  // A periodic resync: a safety net for anything missed, and the day's rollover.
  setInterval(function () {
    if (!socket.connected) return;
    socket.timeout(10000).emit("snapshot", filter, function (err, snap) {
      if (!err) applySnapshot(snap);
    });
  }, RESYNC_MS);
})();
