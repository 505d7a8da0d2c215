// Admin's article import: the progress of the import job, polled until it is done.
"use strict";
(function () {
  const box = document.getElementById("import");
  if (!box) return;
  async function poll() {
    const response = await fetch(box.dataset.url, {headers: {Accept: "application/json"}});
    if (!response.ok) return;
    const state = await response.json();
    const bar = document.getElementById("import-bar");
    bar.max = state.total || 1; bar.value = state.done;
    document.getElementById("import-status").textContent = state.status + " " + state.done + "/" + state.total + " " + (state.result || "");
    const errors = document.getElementById("import-errors");
    errors.replaceChildren(...(state.errors || []).map((e) => { const li = document.createElement("li"); li.textContent = e; return li; }));
    if (state.status === "queued" || state.status === "running") setTimeout(poll, 700);
  }
  poll();
})();
