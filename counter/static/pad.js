/* The rating pad (评价器): pushed over /pad when the clerk finishes a ticket.
 * It never knows a ticket token; it rates "the window's most recently finished ticket"
 * and the server checks that this is still allowed (that ticket, in time, once). */
(function () {
  "use strict";
  var WINDOW = parseInt(document.body.getAttribute("data-window"), 10);
  var state = null;
  var score = null;
  var reasons = [];
  var thanksUntil = 0;
  var timeoutSent = null;

  function $(id) { return document.getElementById(id); }
  function setMode(mode) {
    $("pad").setAttribute("data-mode", mode);
    $("pad-idle").hidden = mode !== "idle";
    $("pad-prompt").hidden = mode !== "prompt";
    $("pad-thanks").hidden = mode !== "thanks";
  }

  function resetChoice() {
    score = null;
    reasons = [];
    $("pad-reasons").hidden = true;
    $("scores").hidden = false;
    $("pad-comment").value = "";
    $("pad-submit").disabled = true;
    document.querySelectorAll("#pad-reasons .chip").forEach(function (c) { c.classList.remove("selected"); });
    document.querySelectorAll(".score").forEach(function (b) { b.classList.remove("selected"); });
  }

  function render(s) {
    var prevTicket = state && state.prompt ? state.prompt.ticket_id : null;
    state = s;
    Hall.setServerNow(s.now);
    $("pad-window").textContent = s.window_name;
    $("pad-staffno").textContent = s.signed_in && s.staff_no ? s.staff_no : "—";
    $("pad-wstate").textContent = !s.signed_in ? "本窗口暂未开放" :
      s.state === "paused" ? "暂停服务" + (s.pause_reason ? "（" + s.pause_reason + "）" : "") : "竭诚为您服务";
    if (Date.now() < thanksUntil) return; // the thanks screen stays a moment
    if (s.prompt) {
      if (s.prompt.ticket_id !== prevTicket) resetChoice();
      $("pad-number").textContent = s.prompt.number;
      $("pad-service").textContent = s.prompt.service_name;
      setMode("prompt");
    } else {
      resetChoice();
      setMode("idle");
    }
    tick();
  }

  function refresh() {
    return Hall.api("GET", "/api/pad/" + WINDOW).then(render, function () {});
  }

  function tick() {
    if (!state || !state.prompt || $("pad-prompt").hidden) return;
    var left = Math.ceil((Date.parse(state.prompt.expires_at) - Hall.serverNow()) / 1000);
    $("pad-left").textContent = left > 0 ? left + " 秒后自动关闭" : "";
    if (left <= 0 && timeoutSent !== state.prompt.ticket_id) {
      // Time is up: the server records the ticket as unrated (never as good).
      timeoutSent = state.prompt.ticket_id;
      Hall.api("POST", "/api/pad/" + WINDOW + "/timeout").then(function (d) { render(d.state); }, refresh);
    }
  }
  setInterval(tick, 250);

  function submit() {
    if (!state || !state.prompt || score === null) return;
    var body = { score: score, reasons: reasons, comment: $("pad-comment").value.trim(), ticket: state.prompt.ticket_id };
    $("pad-submit").disabled = true;
    Hall.api("POST", "/api/pad/" + WINDOW + "/rating", body).then(function (d) {
      $("pad-thanks-text").textContent = d.bad ? "您的意见已记录，我们将尽快回访并整改" : "您的满意是我们的追求";
      thanksUntil = Date.now() + 4000;
      setMode("thanks");
      setTimeout(function () { thanksUntil = 0; render(d.state); }, 4000);
    }, function (e) {
      Hall.toast(e.message);
      refresh();
    });
  }

  document.querySelectorAll(".score").forEach(function (btn) {
    btn.addEventListener("click", function () {
      score = parseInt(btn.getAttribute("data-score"), 10);
      document.querySelectorAll(".score").forEach(function (b) { b.classList.toggle("selected", b === btn); });
      if (btn.getAttribute("data-bad") === "1") {
        $("pad-chosen").textContent = btn.textContent.trim();
        $("pad-reasons").hidden = false;
        $("scores").hidden = true;
      } else {
        submit();
      }
    });
  });
  function updateSubmit() {
    $("pad-submit").disabled = !(reasons.length || $("pad-comment").value.trim());
  }
  document.querySelectorAll("#pad-reasons .chip").forEach(function (chip) {
    chip.addEventListener("click", function () {
      var r = chip.getAttribute("data-reason");
      var i = reasons.indexOf(r);
      if (i >= 0) reasons.splice(i, 1); else reasons.push(r);
      chip.classList.toggle("selected", i < 0);
      updateSubmit();
    });
  });
  $("pad-comment").addEventListener("input", updateSubmit);
  $("pad-submit").addEventListener("click", submit);
  $("pad-back").addEventListener("click", resetChoice);

  Hall.connect("/pad", { state: render }, {
    snapshot: function (socket) {
      socket.emit("join", { window: WINDOW }, function (ack) {
        if (ack && ack.state) render(ack.state);
      });
    }
  });
  setInterval(refresh, 15000);
  refresh();
})();
