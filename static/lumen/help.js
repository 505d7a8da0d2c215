// The help centre's search page: choosing a category shows its results at once.
"use strict";
document.querySelectorAll("select[data-submit-on-change]").forEach((select) => {
  select.addEventListener("change", () => select.form.submit());
});
