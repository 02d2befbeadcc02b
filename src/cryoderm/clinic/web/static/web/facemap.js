// The face map picks zones: each SVG zone is a keyboard-operable checkbox (Space or Enter) bound
// to a real <input type=checkbox name=zones>, so the form works, and is read out, without the map.
(function () {
  "use strict";
  document.querySelectorAll(".facemap").forEach(function (map) {
    function box(zone) { return map.querySelector('input[name="zones"][value="' + zone + '"]'); }
    function sync() {
      map.querySelectorAll(".zone").forEach(function (z) {
        var b = box(z.dataset.zone);
        z.setAttribute("aria-checked", b && b.checked ? "true" : "false");
      });
    }
    map.querySelectorAll(".zone").forEach(function (z) {
      var toggle = function () {
        var b = box(z.dataset.zone);
        if (!b) return;
        b.checked = !b.checked;
        b.dispatchEvent(new Event("change", { bubbles: true }));
        sync();
      };
      z.addEventListener("click", toggle);
      z.addEventListener("keydown", function (e) {
        if (e.key === " " || e.key === "Enter") { e.preventDefault(); toggle(); }
      });
    });
    map.addEventListener("change", sync);
    sync();
  });
})();
