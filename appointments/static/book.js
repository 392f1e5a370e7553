// /book: refresh the slot list when the service or the date changes (the page works
// without this script: the 查看时段 button reloads it with the new choice).
(function () {
  "use strict";
  document.body.classList.add("js");
  var service = document.getElementById("service");
  var day = document.getElementById("date");
  var list = document.getElementById("slot-list");
  var hiddenService = document.getElementById("book-service");
  var hiddenDate = document.getElementById("book-date");
  if (!service || !day || !list) return;

  function label(s) {
    if (s.over) return "已过";
    if (s.left === 0) return "已约满";
    return "余" + s.left;
  }

  function render(slots) {
    list.textContent = "";
    slots = slots.filter(function (s) { return !s.over; });
    if (!slots.length) {
      var p = document.createElement("p");
      p.className = "empty";
      p.textContent = "该日没有可预约的时段，请换一天。";
      list.appendChild(p);
      return;
    }
    slots.forEach(function (s) {
      var lab = document.createElement("label");
      lab.className = "slot" + (s.left === 0 ? " off" : "");
      var input = document.createElement("input");
      input.type = "radio";
      input.name = "slot";
      input.value = s.slot;
      input.required = true;
      input.disabled = s.left === 0;
      var time = document.createElement("span");
      time.className = "time";
      time.textContent = s.slot + "\u2013" + s.end;
      var left = document.createElement("span");
      left.className = "left";
      left.textContent = label(s);
      lab.appendChild(input);
      lab.appendChild(time);
      lab.appendChild(left);
      list.appendChild(lab);
    });
  }

  function refresh() {
    hiddenService.value = service.value;
    hiddenDate.value = day.value;
    var query = "service=" + encodeURIComponent(service.value) + "&date=" + encodeURIComponent(day.value);
    if (window.history && history.replaceState) history.replaceState(null, "", "/book?" + query);
    list.setAttribute("aria-busy", "true");
    Hall.api("GET", "/api/appointments/slots?" + query)
      .then(render, function (e) { list.textContent = e.status ? e.message : "网络异常，请重试"; })
      .then(function () { list.removeAttribute("aria-busy"); });
  }

  service.addEventListener("change", refresh);
  day.addEventListener("change", refresh);
  // Places fill up while the page is open: refresh every minute.
  setInterval(function () { if (!document.hidden) refresh(); }, 60000);
})();
