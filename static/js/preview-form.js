// A checkbox per supplier that selects or clears all of its lines at once.
(function () {
  "use strict";
  for (const toggle of document.querySelectorAll("[data-group-toggle]")) {
    const group = document.querySelector(`[data-group="${toggle.dataset.groupToggle}"]`);
    const boxes = Array.from(group.querySelectorAll("input[type=checkbox]"));
    const sync = () => {
      const checked = boxes.filter((box) => box.checked).length;
      toggle.checked = checked === boxes.length;
      toggle.indeterminate = checked > 0 && checked < boxes.length;
    };
    toggle.addEventListener("change", () => {
      for (const box of boxes) box.checked = toggle.checked;
      sync();
    });
    for (const box of boxes) box.addEventListener("change", sync);
    toggle.hidden = false;
    sync();
  }
})();
