// Half-filled forms survive a time-out: every <form data-draft="key"> is copied to localStorage
// as it is typed, restored when the same user opens the page again (after signing in again), and
// dropped once the server has accepted it. After data-idle-timeout-s seconds without activity the
// page saves its drafts and signs the user out, so no clinical page stays open on an idle tablet.
(function () {
  "use strict";
  var body = document.body;
  var user = body.dataset.user || "";
  var PREFIX = "cryoderm-draft:";
  var PENDING = "cryoderm-draft-pending";
  var MAX_AGE_MS = 12 * 3600 * 1000; // a draft older than a working day is not restored

  function storageKey(form) { return PREFIX + user + ":" + form.dataset.draft; }

  function serialise(form) {
    var values = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.name === "csrfmiddlewaretoken" || el.type === "password" ||
          el.type === "file" || el.type === "submit" || el.dataset.noDraft !== undefined) return;
      if (el.type === "checkbox" || el.type === "radio") {
        values[el.name + "\u0000" + el.value] = el.checked;
      } else {
        values[el.name] = el.value;
      }
    });
    return values;
  }

  function save(form) {
    if (!user) return;
    localStorage.setItem(storageKey(form), JSON.stringify({ at: Date.now(), values: serialise(form) }));
  }

  function restore(form) {
    var raw = localStorage.getItem(storageKey(form));
    if (!raw) return false;
    var draft;
    try { draft = JSON.parse(raw); } catch (e) { localStorage.removeItem(storageKey(form)); return false; }
    if (!draft || Date.now() - draft.at > MAX_AGE_MS) { localStorage.removeItem(storageKey(form)); return false; }
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name) return;
      if (el.type === "checkbox" || el.type === "radio") {
        var k = el.name + "\u0000" + el.value;
        if (k in draft.values) el.checked = draft.values[k];
      } else if (el.name in draft.values && el.type !== "password" && el.type !== "file" &&
                 el.name !== "csrfmiddlewaretoken") {
        el.value = draft.values[el.name];
      }
    });
    var note = document.createElement("p");
    note.className = "messages draft-restored";
    note.setAttribute("role", "status");
    note.textContent = "Your unsaved entries on this form were restored.";
    form.insertBefore(note, form.firstChild);
    form.dispatchEvent(new Event("change", { bubbles: true }));
    return true;
  }

  function pending() {
    try { return JSON.parse(localStorage.getItem(PENDING) || "[]"); } catch (e) { return []; }
  }

  // A draft submitted on the previous page is forgotten once a page other than the sign-in page
  // or the same form (shown again with errors) comes back: the server has kept it.
  var forms = Array.prototype.slice.call(document.querySelectorAll("form[data-draft]"));
  var here = forms.map(storageKey);
  if (user && body.dataset.page !== "login") {
    var keep = pending().filter(function (key) {
      if (here.indexOf(key) !== -1) return true;
      localStorage.removeItem(key);
      return false;
    });
    localStorage.setItem(PENDING, JSON.stringify(keep));
  }

  forms.forEach(function (form) {
    restore(form);
    form.addEventListener("input", function () { save(form); });
    form.addEventListener("change", function () { save(form); });
    form.addEventListener("submit", function () {
      save(form);
      var list = pending();
      if (list.indexOf(storageKey(form)) === -1) list.push(storageKey(form));
      localStorage.setItem(PENDING, JSON.stringify(list));
    });
  });

  // Signing out on purpose forgets this user's drafts; an idle sign-out keeps them.
  document.querySelectorAll("form.logout").forEach(function (f) {
    f.addEventListener("submit", function () {
      Object.keys(localStorage).forEach(function (k) {
        if (k.indexOf(PREFIX + user + ":") === 0) localStorage.removeItem(k);
      });
    });
  });

  var timeoutS = parseFloat(body.dataset.idleTimeoutS || "0");
  var idleForm = document.getElementById("idle-logout");
  if (user && timeoutS > 0 && idleForm) {
    var timer = null;
    var arm = function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        // Never sign out from under a running treatment: the STOP button must stay on screen.
        if (document.querySelector('[data-live-running="1"]')) { arm(); return; }
        forms.forEach(save);
        idleForm.submit();
      }, timeoutS * 1000);
    };
    ["keydown", "pointerdown", "input", "scroll", "touchstart"].forEach(function (ev) {
      document.addEventListener(ev, arm, { passive: true });
    });
    arm();
  }
})();
