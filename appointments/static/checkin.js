// Kiosk check-in: the scanner types the code and Enter into the focused input, so keep
// it focused; the on-screen keypad types too; the page returns to the start by itself.
(function () {
  "use strict";
  var body = document.body;
  var home = body.getAttribute("data-home") || "/kiosk/checkin";
  var after = parseInt(body.getAttribute("data-return-after") || "0", 10);
  var input = document.getElementById("code");
  var keypad = document.getElementById("keypad");
  var form = document.getElementById("checkin-form");

  if (after > 0) {
    var leave = setTimeout(function () { location.replace(home); }, after * 1000);
    // Someone starts typing a new code on an error screen: stay.
    if (input) input.addEventListener("input", function () { clearTimeout(leave); });
  }
  if (!input) return;

  function focus() { if (document.activeElement !== input) input.focus(); }
  focus();
  document.addEventListener("click", function () { setTimeout(focus, 0); });
  input.addEventListener("blur", function () { setTimeout(focus, 50); });

  if (keypad) {
    keypad.addEventListener("click", function (e) {
      var key = e.target.getAttribute && e.target.getAttribute("data-key");
      if (!key) return;
      if (key === "back") input.value = input.value.slice(0, -1);
      else if (key === "clear") input.value = "";
      else input.value += key;
      focus();
    });
  }
  var sent = false;
  form.addEventListener("submit", function (e) {
    if (sent || !input.value.trim()) { e.preventDefault(); return; }
    sent = true; // one check-in per scan, even if the scanner sends Enter twice
  });
})();
