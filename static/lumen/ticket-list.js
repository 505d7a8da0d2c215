// The ticket list's bulk bar: "all on this page" and how many are selected. The bar
// works without this script (a plain form POST); this only saves clicks.
(function () {
  "use strict";
  var form = document.getElementById("ticket-bulk");
  if (!form) return;
  var all = document.getElementById("bulk-select-all");
  var shown = document.getElementById("bulk-selected");
  var boxes = function () { return form.querySelectorAll('input[name="ticket"]'); };
  var update = function () {
    var checked = form.querySelectorAll('input[name="ticket"]:checked').length;
    shown.hidden = checked === 0;
    shown.textContent = "(" + checked + ")";
    all.checked = checked > 0 && checked === boxes().length;
  };
  all.closest("label").hidden = boxes().length === 0;
  all.addEventListener("change", function () {
    boxes().forEach(function (box) { box.checked = all.checked; });
    update();
  });
  form.addEventListener("change", function (event) {
    if (event.target.name === "ticket") update();
  });
  update();
})();
