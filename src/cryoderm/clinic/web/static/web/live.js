// The live view: follows the interlock journal of this session through server-sent events.
// Readings extend the measured curve of their zone's chart; alarms are listed by priority
// with an Acknowledge button; a stop is announced and the page reloads to show the record.
(function () {
  "use strict";
  var root = document.getElementById("live");
  if (!root || !window.EventSource) return;
  var PRIORITY = { high: 0, medium: 1, low: 2 };
  var alarms = document.getElementById("alarms");
  var template = document.getElementById("alarm-template");
  var points = {};

  function zoneOf(liveId) {
    var section = root.querySelector('[data-live-id="' + liveId + '"]');
    return section ? section.dataset.zone : null;
  }
  function text(id, value) { var el = document.getElementById(id); if (el) el.textContent = value; }

  function plot(zone, t, temp) {
    var svg = document.getElementById("chart-" + zone);
    if (!svg) return;
    var d = svg.dataset;
    var x0 = +d.x0, x1 = +d.x1, y0 = +d.y0, y1 = +d.y1;
    var px = +d.left + (t - x0) / (x1 - x0) * +d.plotWidth;
    var ty = Math.max(y0, Math.min(y1, temp));
    var py = +d.top + (1 - (ty - y0) / (y1 - y0)) * +d.plotHeight;
    var line = svg.querySelector('polyline[data-series="measured"]');
    points[zone] = (points[zone] || line.getAttribute("points") || "") + " " + px.toFixed(1) + "," + py.toFixed(1);
    line.setAttribute("points", points[zone].trim());
  }

  function onReading(entry) {
    var p = entry.payload, zone = zoneOf(entry.session_id);
    text("zone-now", zone || "");
    if (p.valid && typeof p.skin_temp_c === "number") {
      text("temp-now", p.skin_temp_c.toFixed(1) + " °C");
      plot(zone, entry.t_s, p.skin_temp_c);
    } else {
      text("temp-now", "no valid reading (" + (p.invalid_reason || "invalid") + ")");
    }
    if (typeof p.exposure_s === "number") text("exposure-now", p.exposure_s.toFixed(1) + " s");
    // The forecast concerns the cold: once it is off (paused, stopped) there is nothing to predict.
    if (p.state && p.state !== "running") {
      text("prediction-now", "cold off");
    } else if (typeof p.predicted_floor_in_s === "number") {
      text("prediction-now", "floor reached in " + p.predicted_floor_in_s.toFixed(1) + " s");
    } else if (typeof p.predicted_temp_c === "number") {
      text("prediction-now", p.predicted_temp_c.toFixed(1) + " °C in " + (p.prediction_horizon_s || 0).toFixed(0) + " s; no floor crossing predicted");
    }
  }

  function alarmElement(id) { return alarms.querySelector('[data-alarm-id="' + id + '"]'); }

  function onAlarm(entry) {
    var p = entry.payload;
    if (alarmElement(p.alarm_id)) return;
    var node = template.content.firstElementChild.cloneNode(true);
    node.dataset.alarmId = p.alarm_id;
    node.dataset.rank = PRIORITY[p.priority] !== undefined ? PRIORITY[p.priority] : 3;
    node.classList.add(p.priority);
    node.querySelector(".alarm-priority").textContent = p.priority.toUpperCase() + " (" + p.category + ")";
    node.querySelector(".alarm-message").textContent = p.message;
    node.querySelector('input[name="zone"]').value = zoneOf(entry.session_id) || "";
    node.querySelector('input[name="alarm_id"]').value = p.alarm_id;
    var none = alarms.querySelector(".no-alarms");
    if (none) none.remove();
    var before = Array.prototype.find.call(alarms.children, function (el) { return +el.dataset.rank > +node.dataset.rank; });
    alarms.insertBefore(node, before || null);
    if (window.htmx) window.htmx.process(node);
  }

  function onAck(entry, words) {
    var node = alarmElement(entry.payload.alarm_id);
    if (!node) return;
    node.querySelector(".alarm-state").textContent = words;
    if (entry.kind === "alarm-ack") {
      var form = node.querySelector("form");
      if (form) form.remove();
    }
  }

  function setRunning(running) {
    root.dataset.liveRunning = running ? "1" : "0";
    ["stop-button", "pause-button", "resume-button"].forEach(function (id) {
      var b = document.getElementById(id); if (b) b.disabled = !running;
    });
  }

  var source = new EventSource(root.dataset.stream);
  source.addEventListener("reading", function (e) { onReading(JSON.parse(e.data)); });
  source.addEventListener("alarm", function (e) { onAlarm(JSON.parse(e.data)); });
  source.addEventListener("alarm-ack", function (e) {
    var entry = JSON.parse(e.data); onAck(entry, "acknowledged by " + entry.payload.by_user);
  });
  source.addEventListener("alarm-cleared", function (e) { onAck(JSON.parse(e.data), "condition ended"); });
  source.addEventListener("pause", function () { text("live-status", "Paused: cold off"); });
  source.addEventListener("resume", function () { text("live-status", "Running"); });
  source.addEventListener("session-started", function (e) {
    var entry = JSON.parse(e.data), zone = zoneOf(entry.session_id);
    root.querySelectorAll(".running-zone").forEach(function (i) { i.value = zone; });
    text("live-status", "Running");
    setRunning(true);
  });
  source.addEventListener("stop", function (e) {
    var entry = JSON.parse(e.data);
    text("live-status", "Stopped by the interlock: " + entry.payload.reason + " at " + (entry.t_s || 0).toFixed(1) + " s");
    setRunning(false);
    var section = root.querySelector('[data-live-id="' + entry.session_id + '"]');
    if (section) {
      section.dataset.stopped = entry.payload.reason;
      var badge = section.querySelector("h3 .badge");
      if (badge) {
        badge.textContent = "stopped: " + entry.payload.reason;
        badge.className = "badge " + (entry.payload.reason === "plan-complete" || entry.payload.reason === "timer" ? "ok" : "bad");
      }
    }
    root.dataset.lastStop = entry.payload.reason;
  });
})();
