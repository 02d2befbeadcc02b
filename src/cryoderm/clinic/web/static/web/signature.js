// A small signature pad: draw with a finger, pen or mouse on a <canvas>. The strokes are kept
// as an SVG path in the pad's pixels ("M x y L x y ...", one M per stroke) in the hidden input
// named by data-target: the consent service checks that they are a signature, not a tap.
// "Clear" starts again.
(function () {
  "use strict";
  document.querySelectorAll(".signature").forEach(function (pad) {
    var canvas = pad.querySelector("canvas");
    var input = document.getElementById(pad.dataset.target);
    var ctx = canvas.getContext("2d");
    var drawing = false, path = "";

    function fit() {
      var r = canvas.getBoundingClientRect();
      canvas.width = Math.round(r.width);
      canvas.height = Math.round(r.height);
      ctx.lineWidth = 2.5; ctx.lineCap = "round"; ctx.lineJoin = "round"; ctx.strokeStyle = "#111";
    }
    function point(e) {
      var r = canvas.getBoundingClientRect();
      return [Math.round((e.clientX - r.left) * 10) / 10, Math.round((e.clientY - r.top) * 10) / 10];
    }
    fit();
    canvas.addEventListener("pointerdown", function (e) {
      drawing = true; canvas.setPointerCapture(e.pointerId);
      var p = point(e); ctx.beginPath(); ctx.moveTo(p[0], p[1]);
      path += (path ? " " : "") + "M " + p[0] + " " + p[1];
    });
    canvas.addEventListener("pointermove", function (e) {
      if (!drawing) return;
      var p = point(e); ctx.lineTo(p[0], p[1]); ctx.stroke();
      path += " L " + p[0] + " " + p[1];
    });
    function end() {
      if (!drawing) return;
      drawing = false;
      input.value = path;
      input.dispatchEvent(new Event("change", { bubbles: true }));
    }
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    pad.querySelector("button.clear").addEventListener("click", function () {
      ctx.clearRect(0, 0, canvas.width, canvas.height); path = ""; input.value = "";
    });
  });
})();
