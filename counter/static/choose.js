/* Window chooser: sign in (= open the window), then the console renders. */
(function () {
  "use strict";
  document.querySelectorAll(".sign-in").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var n = parseInt(btn.getAttribute("data-window"), 10);
      btn.disabled = true;
      Hall.api("POST", "/api/windows/" + n + "/open").then(function () {
        location.reload();
      }, function (e) {
        btn.disabled = false;
        Hall.toast(e.message);
      });
    });
  });
  var note = document.getElementById("choose-note");
  if (note && location.hash === "#forced") {
    note.textContent = "您已被主管签退，请重新选择窗口。";
    note.className = "hint warn";
  }
})();
