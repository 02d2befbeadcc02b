// The live view: follows the interlock journal of this session through server-sent events.
// Readings extend the measured curve of their zone's chart; alarms are listed by priority
// with an Acknowledge button; a change of a zone's state (started, stopped, resumed, ended)
// reloads the page once the records have it, to offer what may follow (resume, end).
// Honesty: the server sends something every second; after 2 s of silence the page says the
// connection is lost and the device state unknown, and it reconnects by itself.
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
  // Labels of what the stream sends as identifiers (zones, stop reasons, alarms, reading
  // problems), from the page: the one source is cryoderm.data.labels.
  var LABELS = JSON.parse(document.getElementById("live-labels").textContent);
  function label(vocabulary, id) { return (LABELS[vocabulary] || {})[id] || id; }
  // A temperature as the pages write it: the minus sign, one decimal, °C.
  function celsius(t) { return (t < 0 ? "\u2212" : "") + Math.abs(t).toFixed(1) + " °C"; }
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
    text("zone-now", zone ? label("zone", zone) : "");
    if (p.valid && typeof p.skin_temp_c === "number") {
      text("temp-now", celsius(p.skin_temp_c));
      plot(zone, entry.t_s, p.skin_temp_c);
    } else {
      text("temp-now", "no valid reading (" + label("reading", p.invalid_reason || "invalid") + ")");
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
    node.querySelector(".alarm-message").textContent = label("alarm", p.condition) + ": " + p.message;
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

  var SILENCE_MS = 2000;
  var forwarded = +(root.dataset.forwarded || 0);
  var connection = document.getElementById("connection");
  var lastHeard = Date.now();
  var reloadTimer = null;

  function showProblem(words) {
    if (connection.textContent !== words) connection.textContent = words;
    connection.hidden = false;
    if (root.dataset.connection !== "lost") root.dataset.lostAt = Date.now();
    root.dataset.connection = "lost";
  }
  function heard() {
    lastHeard = Date.now();
    root.dataset.lastHeard = lastHeard;
    if (root.dataset.connection === "lost") {
      connection.hidden = true;
      connection.textContent = "";
      root.dataset.connection = "ok";
    }
  }
  window.setInterval(function () {
    if (Date.now() - lastHeard > SILENCE_MS) showProblem("Connection lost — device state unknown. Reconnecting…");
  }, 250);

  // A change of state the records do not show yet (the page was drawn from records older
  // than this journal entry): reload after 1.5 s, by when the forwarder (every half second)
  // has usually copied it; again if it had not, up to five times per entry.
  var MAX_RELOADS = 5;
  function reloadFor(entry) {
    if (entry.seq <= forwarded) return;
    var key = "cryoderm-live-reloaded-" + root.dataset.session + "-" + entry.seq;
    var count = +(window.sessionStorage.getItem(key) || 0);
    if (count >= MAX_RELOADS) return;
    window.sessionStorage.setItem(key, String(count + 1));
    if (reloadTimer) window.clearTimeout(reloadTimer);
    reloadTimer = window.setTimeout(function () { window.location.reload(); }, 1500);
  }

  var handlers = {
    reading: function (entry) { onReading(entry); },
    alarm: function (entry) { onAlarm(entry); },
    "alarm-ack": function (entry) { onAck(entry, "acknowledged by " + entry.payload.by_user); },
    "alarm-cleared": function (entry) { onAck(entry, "condition ended"); },
    pause: function () { text("live-status", "Paused: cold off"); },
    resume: function () { text("live-status", "Running"); },
    "resume-after-stop": function (entry) { text("live-status", "Running (resumed after the stop)"); setRunning(true); reloadFor(entry); },
    "session-started": function (entry) {
      var zone = zoneOf(entry.session_id);
      root.querySelectorAll(".running-zone").forEach(function (i) { i.value = zone; });
      text("live-status", "Running");
      setRunning(true);
      reloadFor(entry);
    },
    stop: function (entry) {
      var reason = entry.payload.reason, by = entry.payload.by_user;
      text("live-status", (by ? "Stopped by " + by : "Stopped by the interlock") + ": " + label("stop-reason", reason) + " at " + (entry.t_s || 0).toFixed(1) + " s");
      setRunning(false);
      var section = root.querySelector('[data-live-id="' + entry.session_id + '"]');
      if (section) {
        section.dataset.stopped = reason;
        var badge = section.querySelector("h3 .badge");
        if (badge) {
          badge.textContent = "Stopped: " + label("stop-reason", reason);
          badge.className = "badge " + (reason === "plan-complete" || reason === "timer" ? "ok" : "bad");
        }
      }
      root.dataset.lastStop = reason;
      reloadFor(entry);
    },
    "session-ended": function (entry) { setRunning(false); reloadFor(entry); },
    "command-rejected": function (entry) { text("live-status", "The interlock refused: " + entry.payload.error); reloadFor(entry); },
    status: function (entry) {
      if (!entry.interlock_alive) showProblem("The interlock is not responding — device state unknown" + (entry.why ? " (" + entry.why + ")" : "") + ".");
    },
    bye: function () {}
  };

  var source = null;
  var lastSeq = 0;
  function connect() {
    var url = root.dataset.stream + (lastSeq ? "?after=" + lastSeq : "");
    source = new EventSource(url);
    Object.keys(handlers).forEach(function (kind) {
      source.addEventListener(kind, function (e) {
        heard();
        var entry = JSON.parse(e.data);
        if (e.lastEventId) lastSeq = Math.max(lastSeq, +e.lastEventId);
        handlers[kind](entry);
      });
    });
    source.onerror = function () {
      // The browser retries by itself unless the server refused the stream (signed out,
      // server down): then start a new one after a second.
      if (source.readyState === EventSource.CLOSED) window.setTimeout(connect, 1000);
    };
  }
  connect();
})();
