// While a run works, poll its status and update the badges; reload once it is finished.
(function () {
  "use strict";
  const progress = document.getElementById("run-progress");
  if (!progress || progress.dataset.finished === "true") return;
  const url = progress.dataset.statusUrl;
  // Label and colour come from the server's one badge rule, so the progress box, the
  // supplier's card and the finished page never disagree.
  const answeredText = progress.dataset.answeredText;

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
          const badges = document.querySelectorAll(
            `[data-supplier-status="${supplier.id}"], [data-supplier-badge="${supplier.id}"]`,
          );
          for (const badge of badges) {
            badge.textContent = supplier.label;
            badge.className = `badge text-bg-${supplier.colour || "secondary"}`;
          }
          const waiting = document.querySelector(`[data-supplier-waiting="${supplier.id}"]`);
          if (waiting && supplier.status !== "pending") waiting.textContent = answeredText;
        }
      }
    } catch (error) {
      // A network blip: try again on the next tick.
    }
    window.setTimeout(poll, 1000);
  }
  window.setTimeout(poll, 500);
})();
