/* The guide desk's 呼叫帮办 alerts (added to /counter/guide by the citizen face): the
 * open alerts from /helpdesk, each until a guide takes it (POST /api/help/<id>/ack). */
(function () {
  "use strict";
  var box = document.createElement("section");
  box.id = "help-alerts";
  box.className = "help-alerts";
  box.setAttribute("role", "alert");
  box.setAttribute("aria-live", "assertive");
  box.hidden = true;
  document.body.insertBefore(box, document.body.firstChild);

  function draw(alerts) {
    while (box.firstChild) box.removeChild(box.firstChild);
    box.hidden = !alerts || !alerts.length;
    document.body.classList.toggle("help-open", !box.hidden);
    (alerts || []).forEach(function (a) {
      var row = document.createElement("div");
      row.className = "help-alert";
      row.setAttribute("data-id", a.id);
      var text = document.createElement("b");
      text.textContent = a.text;
      var when = document.createElement("span");
      when.textContent = (a.at || "").slice(11, 16);
      var btn = document.createElement("button");
      btn.type = "button";
      btn.className = "btn primary help-ack";
      btn.textContent = "我去处理";
      btn.addEventListener("click", function () {
        btn.disabled = true;
        Hall.api("POST", "/api/help/" + a.id + "/ack", {}).then(null, function (e) {
          Hall.toast(e.message);
        }).then(function () { btn.disabled = false; });
      });
      row.appendChild(text);
      row.appendChild(when);
      row.appendChild(btn);
      box.appendChild(row);
    });
    window.helpAlerts = alerts || [];
  }

  window.helpSocket = Hall.connect("/helpdesk", { alerts: draw }, {
    snapshot: function (socket) { socket.emit("alerts", null, draw); }
  });
})();
