/* Hall display and window display: keep the server-rendered page live.
 *
 * - The server decides what the screen shows: every snapshot this page gets (on every
 *   (re)connect, and the one it asks for after each change) carries `view`, the page's
 *   content with display/pages.py's rules applied (the board: newest first, one line per
 *   ticket and window; the waiting rows; the zone's windows; the calls to speak). The
 *   script draws it as it is, with the markup of display/templates/display/parts.html.
 * - Every call has an id (ticket_events id). The ids already announced are kept in
 *   localStorage, per page address: the view's `announce` calls that were never announced
 *   are announced, oldest first, each exactly once, whether the screen was connected,
 *   reconnected or rebooted; a recall has a new id and is announced again.
 * - Only the answer to the latest request is drawn, so the screen never steps back.
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
    group: D.group || "",
    highlight: parseInt(D.highlight, 10) || 0,
    voice: D.voice === "1",
    window: D.window ? parseInt(D.window, 10) : null,
  };
  var RESYNC_MS = 5 * 60 * 1000;
  var el = Hall.el;
  var setText = Hall.setText;

  // What this screen asks the server for: its services, and its view.
  var request = {
    view: KIND === "window" ? { kind: "window", window: opts.window } : { kind: "hall", group: opts.group },
  };
  if (opts.services.length) request.services = opts.services;

  function $(id) {
    return document.getElementById(id);
  }
  function replaceChildren(parent, nodes) {
    if (!parent) return;
    while (parent.firstChild) parent.removeChild(parent.firstChild);
    nodes.forEach(function (n) {
      parent.appendChild(n);
    });
  }
  function windowName(c) {
    return c.window_name || c.window + "号窗口";
  }

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

  // ------------------------------------------------------------------ drawing a view
  // The markup of display/templates/display/parts.html; what goes in it is the server's.
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

  function queueItem(r) {
    var li = el("li");
    li.appendChild(el("span", "d-q-name", r.label));
    li.appendChild(el("span", "d-q-count", r.waiting));
    li.appendChild(el("span", "d-q-unit", "人"));
    return li;
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

  function drawHall(v) {
    setText("d-hall", v.hall);
    replaceChildren($("d-latest-body"), latestNodes(v.latest));
    replaceChildren($("d-recent"), v.recent.map(callItem));
    var q = $("d-queue");
    if (q) {
      q.className = "d-queue-list rows-" + v.queue_size;
      replaceChildren(q, v.queue.map(queueItem));
    }
    var grid = $("d-windows");
    if (grid) {
      grid.className = "d-wgrid cols-" + v.columns;
      replaceChildren(grid, v.windows.map(windowCard));
    }
    var notice = $("d-notice");
    if (notice) {
      notice.hidden = !v.notice;
      var text = $("d-notice-text");
      if (text && text.textContent !== v.notice) {
        text.textContent = v.notice;
        text.style.animationDuration = v.notice_seconds + "s";
      }
    }
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

  function drawWindow(v) {
    var w = v.window;
    setText("w-name", w.name);
    var main = $("w-main");
    // a blink only while a number is being called here
    var flashing = main.classList.contains("flash") && w.state === "open" && !!w.current;
    main.className = "w-main state-" + w.state + (w.current ? " has-current" : "") + (flashing ? " flash" : "");
    replaceChildren($("w-body"), windowBody(w));
    setText("w-services", v.services_text);
  }

  // ------------------------------------------------------------------ applying a snapshot
  function applySnapshot(snap) {
    if (!snap || !snap.view || !Array.isArray(snap.view.announce)) return;
    Hall.setServerNow(snap.at);
    // A database younger than what this screen remembers (a reset): start from it.
    if (typeof snap.last_event_id === "number" && maxSeen() > snap.last_event_id) {
      floor = snap.last_event_id;
      seen.clear();
      persist();
    }
    if (snap.view.kind === "window") drawWindow(snap.view);
    else drawHall(snap.view);
    // Calls not yet announced (live, or made while this screen was away): oldest first, once.
    var fresh = snap.view.announce.filter(isNew);
    fresh.forEach(function (c) {
      seen.add(c.id);
      announce(c);
    });
    if (fresh.length) {
      persist();
      flash();
    }
  }

  // ------------------------------------------------------------------ asking for the view
  // One request at a time; a change while one is on its way asks again after it. A
  // snapshot the server pushes on (re)connect supersedes any answer still on its way.
  var latest = 0; // number of the latest request (or pushed snapshot)
  var inflight = false;
  var again = false;
  var soon = null;
  var socket = null;

  function refresh() {
    soon = null;
    if (!socket || !socket.connected) return;
    if (inflight) {
      again = true;
      return;
    }
    inflight = true;
    var mine = ++latest;
    socket.timeout(10000).emit("snapshot", request, function (err, snap) {
      if (mine !== latest) return; // superseded by a newer snapshot
      inflight = false;
      if (!err) applySnapshot(snap);
      if (again || err) {
        again = false;
        schedule();
      }
    });
  }
  function schedule() {
    // a call comes with a `queue` and maybe a `window`: one request for all of them
    if (!soon) soon = setTimeout(refresh, 20);
  }

  function setOnline(online) {
    var badge = $("d-offline");
    if (badge) badge.hidden = online;
    document.body.dataset.online = online ? "1" : "0";
  }

  socket = Hall.connect(
    "/display",
    {
      snapshot: function (snap) {
        // Pushed on (re)connect: an answer still on its way is dropped, and asked again.
        var asking = inflight;
        latest += 1;
        inflight = false;
        applySnapshot(snap);
        if (again || asking) {
          again = false;
          schedule();
        }
      },
      called: schedule,
      window: schedule,
      queue: function () {
        if (KIND === "hall") schedule();
      },
    },
    {
      auth: request, // the server answers every connect with a snapshot and this view
      transports: ["polling", "websocket"],
      status: setOnline,
    }
  );
  window.hallSocket = socket;

  // A periodic resync: a safety net for anything missed, and the day's rollover.
  setInterval(schedule, RESYNC_MS);
})();
