// The price at the quantity entered: quoteType 1 prices each SKU; otherwise the tier of
// the offer's total quantity applies (below the first tier, the first tier's price).
(function () {
  "use strict";
  const format = (value) =>
    "¥" + Number(value).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });

  function tiers(form) {
    return (form.dataset.tiers || "")
      .split(";")
      .filter(Boolean)
      .map((pair) => pair.split(":"))
      .map(([start, price]) => ({ start: Number(start), price }));
  }

  function update(form) {
    if (form.dataset.quoteType === "1") return;
    const list = tiers(form);
    if (!list.length) return;
    let total = 0;
    for (const input of form.querySelectorAll(".quantity-input")) {
      const value = input.value.trim();
      if (/^[0-9]+$/.test(value)) total += Number(value);
    }
    let applies = list[0];
    for (const tier of list) if (tier.start <= Math.max(total, 1)) applies = tier;
    for (const price of form.querySelectorAll("[data-field=price]")) {
      price.textContent = format(applies.price);
    }
  }

  for (const form of document.querySelectorAll(".offer-picker")) {
    form.addEventListener("input", () => update(form));
  }
})();
