// Poll several runs; reload the page when all are finished.
(function () {
  "use strict";
  const progress = document.getElementById("group-progress");
  if (!progress || progress.dataset.finished === "true") return;
  const urls = progress.dataset.statusUrls.split(" ").filter(Boolean);
  async function poll() {
    try {
      const states = await Promise.all(
        urls.map((url) => fetch(url, { headers: { Accept: "application/json" } }).then((r) => r.json())),
      );
      if (states.every((state) => state.finished)) {
        window.location.reload();
        return;
      }
    } catch (error) {
      // try again on the next tick
    }
    window.setTimeout(poll, 1000);
  }
  window.setTimeout(poll, 500);
})();
