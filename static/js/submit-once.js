// A form marked `submit-once` disables its buttons once submitted, so a double click
// sends one POST. (The server's claims are the real guard; this only spares a refusal.)
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!form.classList || !form.classList.contains("submit-once")) return;
    if (form.dataset.submitted === "true") {
      event.preventDefault();
      return;
    }
    form.dataset.submitted = "true";
    // After this tick, so the pressed button's name and value are still sent.
    window.setTimeout(function () {
      for (const button of form.querySelectorAll("button[type=submit], input[type=submit]")) {
        button.disabled = true;
      }
    }, 0);
  });
})();
