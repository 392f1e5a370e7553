/* 长者模式 / card screen: speak the screen's prompt (the hall's voice), guard against a
 * double tap, back to the kiosk's start after a while, and the numpad. */
(function () {
  "use strict";
  var body = document.body;
  var HOME = body.getAttribute("data-home") || "/kiosk";
  var RETURN = (parseInt(body.getAttribute("data-return"), 10) || 30) * 1000;

  var say = document.getElementById("e-say");
  if (say) {
    var played = say.play();
    if (played && played.catch) played.catch(function () { /* autoplay refused */ });
  }

  var last = Date.now();
  ["pointerdown", "keydown", "touchstart"].forEach(function (name) {
    document.addEventListener(name, function () { last = Date.now(); }, true);
  });
  setInterval(function () {
    if (Date.now() - last > RETURN) window.location.replace(HOME);
  }, 1000);

  var busy = false;
  var form = document.getElementById("e-form");
  if (form) {
    form.addEventListener("submit", function (e) {
      if (busy) { e.preventDefault(); return; }
      busy = true;
      setTimeout(function () { busy = false; }, 15000);
    });
  }
  if (body.getAttribute("data-mode") === "ticket") {
    try { history.replaceState(null, "", HOME); } catch (e) { /* old browsers */ }
  }

  document.querySelectorAll(".e-numpad").forEach(function (pad) {
    var input = document.getElementById(pad.getAttribute("data-for"));
    pad.addEventListener("click", function (e) {
      var key = e.target && e.target.getAttribute && e.target.getAttribute("data-key");
      if (!key || !input) return;
      if (key === "清除") input.value = "";
      else if (key === "删除") input.value = input.value.slice(0, -1);
      else if (input.value.length < (parseInt(input.getAttribute("maxlength"), 10) || 11)) input.value += key;
    });
  });
})();
