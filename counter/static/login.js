/* Staff login: POST /api/login, then reload (the page renders for the signed-in user). */
(function () {
  "use strict";
  var form = document.getElementById("login-form");
  var err = document.getElementById("login-error");
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    err.textContent = "";
    var body = {
      username: document.getElementById("login-username").value.trim(),
      password: document.getElementById("login-password").value
    };
    Hall.api("POST", "/api/login", body).then(function () {
      location.reload();
    }, function (e2) {
      err.textContent = e2.message;
    });
  });
})();
