// A checkbox `data-select-all="NAME"` ticks or clears every checkbox named NAME in its form.
(function () {
  "use strict";
  for (const master of document.querySelectorAll("input[data-select-all]")) {
    const boxes = () => master.form.querySelectorAll(`input[type=checkbox][name="${master.dataset.selectAll}"]`);
    master.addEventListener("change", function () {
      for (const box of boxes()) box.checked = master.checked;
    });
  }
})();
