/* Partnerdesk portal: copy buttons, the custom-period toggle, the live postback preview, the
   payment method's fields (only the chosen method's are shown; without script all are) and the
   charts (portal/charts.py: each <div data-chart> names the json_script block it is drawn from,
   so no page needs an inline script under the Content-Security-Policy). Its words go through
   gettext: the page loads the catalogue of its language (config/views.py) before this file. */
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (source && navigator.clipboard) {
      navigator.clipboard.writeText(source.textContent.trim());
      button.textContent = gettext("Copied");
    }
  });

  function toggleCustom(select) {
    var custom = select.value === "custom";
    document.querySelectorAll("[data-custom-range]").forEach(function (field) {
      field.hidden = !custom;
    });
  }
  document.querySelectorAll("select[name=period]").forEach(function (select) {
    toggleCustom(select);
    select.addEventListener("change", function () { toggleCustom(select); });
  });

  var input = document.querySelector("[data-preview-url]");
  if (input) {
    var timer;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var url = input.getAttribute("data-preview-url") + "?url=" + encodeURIComponent(input.value);
        fetch(url, { credentials: "same-origin" })
          .then(function (response) { return response.text(); })
          .then(function (html) { document.getElementById("pd-postback-live").innerHTML = html; });
      }, 300);
    });
  }

  var kind = document.querySelector("select[data-method-kind]");
  if (kind) {
    var showChosen = function () {
      document.querySelectorAll("[data-method]").forEach(function (input) {
        var field = input.closest(".pd-field");
        if (field) field.hidden = input.getAttribute("data-method") !== kind.value;
      });
    };
    showChosen();
    kind.addEventListener("change", showChosen);
  }

  if (window.Chartkick) {
    document.querySelectorAll("[data-chart]").forEach(function (element) {
      var spec = JSON.parse(document.getElementById(element.getAttribute("data-chart")).textContent);
      element.style.height = spec.height;
      element.textContent = "";
      new window.Chartkick[spec.type](element, spec.data, spec.options);
    });
  }
})();
