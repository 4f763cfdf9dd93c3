// While a lookup batch works, poll its status and update the badges. Once every offer is
// settled, reload, unless the buyer has typed quantities: then offer a link instead.
(function () {
  "use strict";
  const progress = document.getElementById("lookup-progress");
  if (!progress || progress.dataset.finished === "true") return;
  const url = progress.dataset.statusUrl;
  const badgeClass = { waiting: "secondary", ok: "success", failed: "danger" };
  let known = null;

  function typedSomething() {
    // A quantity the page pre-filled (asked for elsewhere) counts only once changed.
    return Array.from(document.querySelectorAll(".quantity-input")).some(
      (i) => i.value.trim() && !(i.dataset.suggested === "true" && i.value === i.defaultValue),
    );
  }

  async function poll() {
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      if (response.ok) {
        const state = await response.json();
        const settled = state.lookups.filter((l) => l.status !== "waiting").length;
        for (const lookup of state.lookups) {
          const badge = document.querySelector(`[data-lookup="${lookup.id}"]`);
          if (badge) {
            badge.textContent = lookup.label;
            badge.className = `badge text-bg-${badgeClass[lookup.status] || "secondary"}`;
          }
        }
        if (known !== null && settled > known && typedSomething()) {
          const link = progress.querySelector("[data-testid=lookup-reload]");
          if (link) link.classList.remove("d-none");
        }
        if (state.finished || (known !== null && settled > known)) {
          if (!typedSomething()) {
            window.location.reload();
            return;
          }
        }
        if (state.finished) return;
        known = settled;
      }
    } catch (error) {
      // A network blip: try again on the next tick.
    }
    window.setTimeout(poll, 1000);
  }
  window.setTimeout(poll, 500);
})();
