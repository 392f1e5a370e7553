/* ID cards at the kiosk (added to the kiosk's pages by the citizen face).
 * keyboard: a reader in keyboard mode types the 18-character number and Enter; the
 *   number goes to the server (POST /api/idcard/scan) and never stays in the page.
 * serial / agent: the server reads the card and sends `card` on /citizen to this
 *   kiosk's room.
 * Either way the page then posts the read's token to /kiosk/card (the card's screen). */
(function () {
  "use strict";
  var body = document.body;
  var kind = body.getAttribute("data-idcard");
  var kiosk = body.getAttribute("data-idcard-kiosk") || "";
  if (!kind) return;

  function open(card) {
    var form = document.createElement("form");
    form.method = "post";
    form.action = "/kiosk/card";
    [["card", card], ["kiosk", kiosk]].forEach(function (f) {
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = f[0];
      input.value = f[1];
      form.appendChild(input);
    });
    document.body.appendChild(form);
    form.submit();
  }
  window.hallCardOpen = open;

  if (kind === "keyboard") {
    // A reader types fast; a pause of half a second starts the number anew.
    var buf = "", lastAt = 0;
    document.addEventListener("keydown", function (e) {
      var now = Date.now();
      if (now - lastAt > 500) buf = "";
      lastAt = now;
      if (e.key === "Enter") {
        if (/^[0-9]{17}[0-9Xx]$/.test(buf)) {
          e.preventDefault();
          var number = buf;
          buf = "";
          Hall.api("POST", "/api/idcard/scan", { kiosk: kiosk || null, number: number }, { credentials: "omit" })
            .then(function (res) { open(res.card); }, function (err) {
              showError(err.status ? err.message : "网络异常，请重试");
            });
          number = "";
        }
        buf = "";
        return;
      }
      if (e.key && e.key.length === 1 && /[0-9Xx]/.test(e.key)) buf += e.key;
    }, true);
  } else {
    window.cardSocket = Hall.connect("/citizen", {
      card: function (msg) { if (msg && msg.card) open(msg.card); }
    }, { snapshot: function (socket) { socket.emit("join", { kiosk: kiosk }); } });
  }

  function showError(text) {
    var el = document.getElementById("k-card-error");
    if (!el) {
      el = document.createElement("div");
      el.id = "k-card-error";
      el.setAttribute("role", "alert");
      el.className = "k-alert e-alert";
      document.body.insertBefore(el, document.body.firstChild.nextSibling);
    }
    el.textContent = Hall.chinese(String(text));
  }
})();
