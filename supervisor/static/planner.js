/* The staffing planner page: set the date's appointment slot capacities from the forecast. */
(function () {
  "use strict";
  document.querySelectorAll(".js-slot-capacities").forEach(function (b) {
    b.addEventListener("click", function () {
      b.disabled = true;
      Hall.api("POST", "/api/planner/appointments", { date: b.getAttribute("data-date") })
        .then(function (r) {
          var n = 0;
          Object.keys(r.capacities).forEach(function (k) { n += Object.keys(r.capacities[k]).length; });
          Hall.toast("已按预测设置" + r.date + "的预约号源（" + n + "个时段）", "ok");
        })
        .catch(function (e) { Hall.toast(e.message, "error"); })
        .then(function () { b.disabled = false; });
    });
  });
})();
