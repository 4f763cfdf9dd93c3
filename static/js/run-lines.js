// A big run's page lists each supplier's totals; its lines come on demand. The link opens
// the supplier's own page without JavaScript; with it, its lines are put in its place.
(function () {
  "use strict";
  for (const link of document.querySelectorAll("[data-lines-url]")) {
    link.addEventListener("click", async function (event) {
      event.preventDefault();
      const container = link.closest("[data-lines-container]");
      link.classList.add("disabled");
      try {
        const response = await fetch(link.dataset.linesUrl, { headers: { Accept: "text/html" } });
        if (!response.ok) throw new Error(String(response.status));
        // Our own server's HTML for this supplier, escaped and sanitised there.
        container.innerHTML = await response.text();
      } catch (error) {
        window.location.href = link.href; // its own page, as without JavaScript
      }
    });
  }
})();
