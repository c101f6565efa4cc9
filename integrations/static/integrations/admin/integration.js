// The integration page: "start from" presets for the JSON.
(function () {
  "use strict";

  function presets() {
    const data = document.getElementById("integration-presets");
    return data ? JSON.parse(data.textContent) : [];
  }

  function addPresetPicker() {
    const editor = document.getElementById("id_configuration");
    const list = presets();
    if (!editor || !list.length) return;
    const picker = document.createElement("div");
    picker.className = "preset-picker";
    const label = document.createElement("label");
    label.htmlFor = "preset-select";
    label.textContent = "Start from: ";
    const select = document.createElement("select");
    select.id = "preset-select";
    select.add(new Option("— a preset —", ""));
    list.forEach(function (preset) { select.add(new Option(preset.label, preset.key)); });
    const description = document.createElement("p");
    description.className = "preset-description";
    picker.append(label, select, description);
    const row = editor.closest(".form-row") || editor.parentElement;
    row.parentElement.insertBefore(picker, row);

    select.addEventListener("change", function () {
      const preset = list.find(function (p) { return p.key === select.value; });
      if (!preset) { description.textContent = ""; return; }
      const current = editor.value.trim();
      if (current && current !== "{}" && !window.confirm("Replace the JSON with the preset?")) {
        select.value = "";
        return;
      }
      editor.value = JSON.stringify(preset.configuration, null, 2);
      const boxes = document.querySelectorAll("input[name='events']");
      if (!Array.from(boxes).some(function (box) { return box.checked; })) {
        boxes.forEach(function (box) { box.checked = preset.events.includes(box.value); });
      }
      const direction = document.getElementById("id_direction");
      if (direction && preset.direction) direction.value = preset.direction;
      let text = preset.description;
      if (preset.authentications.length) {
        text += " Add the authentications it uses: " + preset.authentications.join(", ") + ".";
      }
      description.textContent = text;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    addPresetPicker();
  });
})();
