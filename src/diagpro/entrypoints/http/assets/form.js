// The intake form without the noise: only the chosen category's detail box is shown and posted
// (a disabled fieldset posts nothing), and the labels follow the category. Without this script
// every box is shown and the server checks that only the chosen category's box is filled.
(function () {
  "use strict";
  var form = document.getElementById("intake-form");
  if (!form) return;
  document.documentElement.classList.add("js");

  function chosen() {
    return form.querySelector('input[name="equipmentType"]:checked');
  }

  function setText(id, value) {
    var el = document.getElementById(id);
    if (el && value) el.textContent = value;
  }

  function update() {
    var radio = chosen();
    var key = radio ? radio.value : "";
    var sets = form.querySelectorAll("fieldset[data-category]");
    for (var i = 0; i < sets.length; i++) {
      var on = sets[i].getAttribute("data-category") === key;
      sets[i].hidden = !on;
      sets[i].disabled = !on;
    }
    var hint = document.getElementById("details-hint");
    if (hint) {
      hint.textContent = radio
        ? "Details that matter for " + radio.getAttribute("data-label") + "."
        : "Choose what needs diagnosing above to see the details that matter for it.";
    }
    if (!radio) return;
    setText("label-serialNumber", radio.getAttribute("data-identifier"));
    setText("label-mileageHours", radio.getAttribute("data-usage"));
    var codes = document.getElementById("f-errorCodes");
    if (codes) codes.placeholder = radio.getAttribute("data-codes") || codes.placeholder;
  }

  form.addEventListener("change", function (event) {
    if (event.target && event.target.name === "equipmentType") update();
  });
  update();

  var summary = document.getElementById("error-summary");
  if (summary) summary.focus();
})();
