// Ticket pages: due times count down ("in 1 hour 20 minutes", "5 minutes ago") in the
// page's language, and turn red once they have passed.
(function () {
  "use strict";
  const clocks = document.querySelectorAll("time[data-countdown]");
  if (!clocks.length) return;
  const language = document.documentElement.lang || "zh-hans";
  const relative = new Intl.RelativeTimeFormat(language, {numeric: "auto"});

  function words(minutes) {
    const size = Math.abs(minutes);
    if (size < 60) return relative.format(minutes, "minute");
    if (size < 48 * 60) return relative.format(Math.trunc(minutes / 60), "hour");
    return relative.format(Math.trunc(minutes / (24 * 60)), "day");
  }

  function tick() {
    const now = Date.now();
    for (const clock of clocks) {
      const minutes = Math.round((Date.parse(clock.getAttribute("datetime")) - now) / 60000);
      clock.classList.toggle("overdue", minutes < 0);
      const left = clock.parentElement.querySelector(".countdown-left");
      if (left) left.textContent = "(" + words(minutes) + ")";
    }
  }

  tick();
  setInterval(tick, 30000);
})();
