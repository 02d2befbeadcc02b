// The affected-zones question of an area condition (open wound, infection, ...) is shown only
// while that condition is ticked; without this script every question stays visible.
(function () {
  "use strict";
  var form = document.getElementById("screening-form");
  if (!form) return;
  function sync() {
    form.querySelectorAll("fieldset.area-zones").forEach(function (set) {
      var box = form.querySelector('input[name="conditions"][value="' + set.dataset.condition + '"]');
      set.hidden = !(box && box.checked);
    });
  }
  form.addEventListener("change", sync);
  sync();
})();
