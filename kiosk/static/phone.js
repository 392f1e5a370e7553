/* The phone page of one ticket (/t/<token>): keeps the server-rendered page live.
 *
 * Follows the ticket on the /ticket Socket.IO namespace (`follow {token}`; the server
 * answers with the ticket and then pushes `ticket` for this ticket only, at once, when it
 * is called or changes) and offers the 好差评 rating once the ticket is 办结. While the
 * ticket waits, a change in its own service's waiting count (people ahead change when
 * others are called) makes it follow again for the fresh ticket, at most once per
 * `refresh_seconds` of the last answer and at a random moment within it: the server sets
 * that from the number of phones, so a hall full of phones costs it a steady trickle of
 * answers instead of one per phone at every call. Without the socket it reads
 * GET /api/tickets/<token> instead; also when the phone wakes up.
 * The token comes from this page's own address; it is sent to this server only.
 * Test hooks: window.phoneSocket, window.phoneTicket (the last ticket drawn).
 */
(function () {
  "use strict";

  var token = decodeURIComponent(window.location.pathname.split("/").pop() || "");
  var body = document.body;
  function $(id) { return document.getElementById(id); }
  var setText = Hall.setText;

  // The same words phone.py renders on the server.
  var STEP_WORDS = { done: "已办结", current: "当前", todo: "待办" };
  function view(t) {
    var where = t.window ? t.window + "号窗口" : "窗口";
    var j = t.journey;
    if (t.status === "waiting" && j && j.step > 0) {
      return { label: "等候中", headline: "上一步已办结，请等候" + j.steps[j.step].name + "叫号", tone: "waiting" };
    }
    switch (t.status) {
      case "waiting": return { label: "等候中", headline: "请耐心等候叫号", tone: "waiting" };
      case "called": return { label: "请到" + where, headline: "请尽快前往窗口办理", tone: "called" };
      case "serving": return { label: "办理中", headline: "正在办理", tone: "serving" };
      case "parked": return { label: "挂起", headline: "业务暂时挂起，备齐材料后请回到窗口", tone: "serving" };
      case "done": return { label: "已办结", headline: "业务已办结", tone: "done" };
      case "no_show": return { label: "过号", headline: "您已过号，请到导办台咨询", tone: "no_show" };
      default: return { label: "已取消", headline: "此号已取消", tone: "cancelled" };
    }
  }

  var lastStatus = body.getAttribute("data-status");
  function draw(t) {
    if (!t || !t.number) return;
    window.phoneTicket = t;
    var v = view(t);
    body.className = body.className.replace(/\btone-\S+/, "") + " tone-" + v.tone;
    body.setAttribute("data-status", t.status);
    setText($("p-service").firstChild, t.service_name);
    setText($("p-state"), v.label);
    setText($("p-headline"), v.headline);
    setText($("p-window"), t.window || "");
    $("p-call").hidden = t.status !== "called";
    setText($("p-window-name"), t.window_name || "");
    $("p-window-name").hidden = !(t.window_name && (t.status === "called" || t.status === "serving"));
    $("p-wait").hidden = t.status !== "waiting";
    setText($("p-ahead"), t.waiting_ahead);
    setText($("p-eta"), t.eta_minutes);
    drawJourney(t.journey);
    var rated = t.rated || rating.sent;
    $("p-rate").hidden = !(t.status === "done" && !rated);
    $("p-thanks").hidden = !rated;
    if (t.status === "called" && lastStatus !== "called" && navigator.vibrate) {
      try { navigator.vibrate([300, 150, 300]); } catch (e) { /* not allowed */ }
    }
    if (t.status === "called" && lastStatus !== "called") ding();
    lastStatus = t.status;
  }

  // A short two-tone sound when the number is called (where the browser allows sound
  // without a tap; otherwise the vibration and the page are the signal).
  function ding() {
    try {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) return;
      var ctx = new Ctx();
      [[880, 0], [660, 0.35]].forEach(function (n) {
        var osc = ctx.createOscillator(), gain = ctx.createGain();
        osc.frequency.value = n[0];
        gain.gain.setValueAtTime(0.25, ctx.currentTime + n[1]);
        gain.gain.exponentialRampToValueAtTime(0.001, ctx.currentTime + n[1] + 0.3);
        osc.connect(gain); gain.connect(ctx.destination);
        osc.start(ctx.currentTime + n[1]); osc.stop(ctx.currentTime + n[1] + 0.32);
      });
    } catch (e) { /* no sound here */ }
  }

  function drawJourney(j) {
    $("p-journey").hidden = !j;
    if (!j) return;
    setText($("p-journey-name"), "一件事：" + j.name);
    var ol = $("p-steps");
    ol.textContent = "";
    j.steps.forEach(function (s) {
      var li = document.createElement("li");
      li.className = "p-step " + s.state;
      var sp = document.createElement("span"); sp.textContent = s.name;
      var sm = document.createElement("small"); sm.textContent = STEP_WORDS[s.state] || "";
      li.append(sp, sm);
      ol.append(li);
    });
  }

  var fetching = false, again = false;
  function reload() {
    if (fetching) { again = true; return; }
    fetching = true;
    Hall.api("GET", "/api/tickets/" + encodeURIComponent(token), null, { credentials: "omit" })
      .then(function (t) { if (t) draw(t); })
      .catch(function () { /* offline: the socket reconnects and we read again */ })
      .then(function () {
        fetching = false;
        if (again) { again = false; reload(); }
      });
  }

  // A change in the waiting counts: follow again while waiting, spread out (see above).
  var refreshSeconds = 1, lastCount = null, pending = null, lastAnswer = 0;
  function queueChanged(counts) {
    var t = window.phoneTicket;
    if (!t || t.status !== "waiting" || !counts) return;
    var n = counts[t.service];
    if (n === lastCount) return;
    lastCount = n;
    if (pending) return;
    var gap = refreshSeconds * 1000;
    var wait = Math.max(0, lastAnswer + gap - Date.now()) + Math.random() * gap;
    pending = setTimeout(function () {
      pending = null;
      var socket = window.phoneSocket;
      if (socket && socket.connected) follow(socket); else reload();
    }, wait);
  }
  function follow(socket) {
    socket.emit("follow", { token: token }, function (ack) {
      lastAnswer = Date.now();
      if (ack && ack.ok && ack.ticket) draw(ack.ticket);
      if (ack && ack.refresh_seconds) refreshSeconds = ack.refresh_seconds;
      body.setAttribute("data-following", ack && ack.ok ? "1" : "0");
    });
  }

  // --- rating ------------------------------------------------------------------------------
  var rating = { score: null, reasons: [], sent: false };
  function updateRating() {
    var bad = rating.score === 1 || rating.score === 2;
    $("p-bad").hidden = !bad;
    var comment = $("p-comment").value.trim();
    $("p-submit").disabled = !rating.score || (bad && !rating.reasons.length && !comment);
  }
  document.querySelectorAll(".p-level").forEach(function (b) {
    b.addEventListener("click", function () {
      rating.score = parseInt(b.getAttribute("data-score"), 10);
      document.querySelectorAll(".p-level").forEach(function (o) {
        o.classList.toggle("selected", o === b);
        o.setAttribute("aria-checked", o === b ? "true" : "false");
      });
      if (rating.score > 2) {
        rating.reasons = [];
        document.querySelectorAll(".p-chip").forEach(function (c) {
          c.classList.remove("selected"); c.setAttribute("aria-pressed", "false");
        });
      }
      updateRating();
    });
  });
  document.querySelectorAll(".p-chip").forEach(function (c) {
    c.addEventListener("click", function () {
      var r = c.getAttribute("data-reason");
      var i = rating.reasons.indexOf(r);
      if (i >= 0) rating.reasons.splice(i, 1); else rating.reasons.push(r);
      c.classList.toggle("selected", i < 0);
      c.setAttribute("aria-pressed", i < 0 ? "true" : "false");
      updateRating();
    });
  });
  var comment = $("p-comment");
  if (comment) comment.addEventListener("input", updateRating);
  function thanks() {
    rating.sent = true;
    $("p-rate").hidden = true;
    $("p-thanks").hidden = false;
  }
  var form = $("p-rate-form");
  if (form) {
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      if ($("p-submit").disabled) return;
      $("p-submit").disabled = true;
      var err = $("p-rate-error");
      err.hidden = true;
      Hall.api("POST", "/api/tickets/" + encodeURIComponent(token) + "/rating", {
        score: rating.score,
        reasons: rating.score <= 2 ? rating.reasons : [],
        comment: $("p-comment").value.trim()
      }, { credentials: "omit" }).then(thanks, function (e) {
        if (e.status === 409) { thanks(); return; } // rated already (another tab): thanks all the same
        setText(err, e.status ? e.message : "网络不通，请稍后重试");
        err.hidden = false;
        updateRating();
      });
    });
  }

  // --- live ------------------------------------------------------------------------------
  if (token) {
    var live = $("p-live");
    window.phoneSocket = Hall.connect("/ticket", { ticket: draw, queue: queueChanged }, {
      // every (re)connect follows the ticket again; the answer is the ticket as it is now
      snapshot: follow,
      status: function (online) { if (live) live.classList.toggle("down", !online); }
    });
  }
  // Phones sleep: read again when the page comes back.
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") reload();
  });
})();
