// The theme editor: reload the preview, and put a found product's number in the products field.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-preview-reload]")) {
      var frame = document.getElementById("theme-preview");
      if (frame) { frame.src = frame.src; }
      return;
    }
    var add = event.target.closest("[data-product-add]");
    if (add) {
      var input = document.querySelector("#section-form [data-product-ids]");
      if (!input) { return; }
      var ids = input.value.split(/[\s,，;；]+/).filter(Boolean);
      var id = add.getAttribute("data-product-add");
      if (ids.indexOf(id) === -1) { ids.push(id); }
      input.value = ids.join(", ");
      input.focus();
    }
  });
})();
