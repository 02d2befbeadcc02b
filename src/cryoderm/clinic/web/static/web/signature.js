// A small signature pad: draw with a finger, pen or mouse on a <canvas>; the drawing is kept as a
// PNG data URL in the hidden input named by data-target. "Clear" starts again.
(function () {
  "use strict";
  document.querySelectorAll(".signature").forEach(function (pad) {
    var canvas = pad.querySelector("canvas");
    var input = document.getElementById(pad.dataset.target);
    var ctx = canvas.getContext("2d");
    var drawing = false, strokes = 0;

    function fit() {
      var r = canvas.getBoundingClientRect();
      canvas.width = Math.round(r.width);
      canvas.height = Math.round(r.height);
      ctx.lineWidth = 2.5; ctx.lineCap = "round"; ctx.lineJoin = "round"; ctx.strokeStyle = "#111";
    }
    function point(e) {
      var r = canvas.getBoundingClientRect();
      return [e.clientX - r.left, e.clientY - r.top];
    }
    fit();
    canvas.addEventListener("pointerdown", function (e) {
      drawing = true; canvas.setPointerCapture(e.pointerId);
      var p = point(e); ctx.beginPath(); ctx.moveTo(p[0], p[1]);
    });
    canvas.addEventListener("pointermove", function (e) {
      if (!drawing) return;
      var p = point(e); ctx.lineTo(p[0], p[1]); ctx.stroke();
    });
    function end() {
      if (!drawing) return;
      drawing = false; strokes += 1;
      input.value = canvas.toDataURL("image/png");
      input.dispatchEvent(new Event("change", { bubbles: true }));
    }
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    pad.querySelector("button.clear").addEventListener("click", function () {
      ctx.clearRect(0, 0, canvas.width, canvas.height); strokes = 0; input.value = "";
    });
  });
})();
