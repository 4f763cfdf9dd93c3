// Province → city → district pickers that fill the address texts and the district code.
// Without JavaScript the fieldset stays hidden and the code alone fills the texts.
(function () {
  "use strict";
  const picker = document.getElementById("region-picker");
  if (!picker) return;
  const url = (code) => picker.dataset.childrenUrl.replace("CODE", code);
  const province = document.getElementById("pick-province");
  const city = document.getElementById("pick-city");
  const district = document.getElementById("pick-district");
  const field = (name) => document.getElementById("id_" + name);
  const placeholder = province.options[0].textContent;

  function reset(select) {
    select.replaceChildren(new Option(placeholder, ""));
    select.disabled = true;
  }

  async function fill(select, code) {
    reset(select);
    const response = await fetch(url(code), { headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const { children } = await response.json();
    for (const child of children) select.add(new Option(child.name, child.code));
    select.disabled = children.length === 0;
  }

  const chosenText = (select) => (select.value ? select.selectedOptions[0].textContent : "");

  province.addEventListener("change", async () => {
    reset(district);
    field("province_text").value = chosenText(province);
    field("city_text").value = "";
    field("area_text").value = "";
    field("district_code").value = "";
    if (!province.value) return reset(city);
    await fill(city, province.value);
    // A municipality's children are its districts: there is no city level.
    if (city.options.length > 1 && city.options[1].value.length === 6) {
      field("city_text").value = chosenText(province);
      district.replaceChildren(...Array.from(city.options).map((o) => new Option(o.text, o.value)));
      district.disabled = false;
      reset(city);
    }
  });

  city.addEventListener("change", async () => {
    field("city_text").value = chosenText(city);
    field("area_text").value = "";
    field("district_code").value = "";
    if (city.value) await fill(district, city.value);
    else reset(district);
  });

  district.addEventListener("change", () => {
    field("area_text").value = chosenText(district);
    field("district_code").value = district.value;
  });

  picker.hidden = false;
})();
