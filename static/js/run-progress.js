// While a run works, poll its status and update the badges; reload once it is finished.
(function () {
  "use strict";
  const progress = document.getElementById("run-progress");
  if (!progress || progress.dataset.finished === "true") return;
  const url = progress.dataset.statusUrl;
  // "ok" means answered, not orderable: the finished page's badge says whether it can be ordered.
  const badgeClass = { pending: "secondary", ok: "info", rejected: "danger", failed: "danger" };

  async function poll() {
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      if (response.ok) {
        const state = await response.json();
        if (state.finished) {
          window.location.reload();
          return;
        }
        for (const supplier of state.suppliers) {
          const badge = progress.querySelector(`[data-supplier-status="${supplier.id}"]`);
          if (badge) {
            badge.textContent = supplier.label;
            badge.className = `badge text-bg-${badgeClass[supplier.status] || "secondary"}`;
          }
        }
      }
    } catch (error) {
      // A network blip: try again on the next tick.
    }
    window.setTimeout(poll, 1000);
  }
  window.setTimeout(poll, 500);
})();
