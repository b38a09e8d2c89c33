/* The schedule form (/scheduler, /scheduler/<id>): per-mode option fields, filling the form
   when editing, submitting to the JSON API and showing its errors next to the fields. */
(function () {
  "use strict";
  var api = window.pstt.api, ROOT = window.pstt.root, reloadWith = window.pstt.reloadWith;
  /* ---- the schedule form ---- */
  var form = document.getElementById("schedule-form");
  if (!form) { return; }
  var modeSelect = form.querySelector("#sharing-mode");
  var triggerSelect = form.querySelector("#f-trigger-type");

  function showMode() {
    form.querySelectorAll("fieldset.sink-options").forEach(function (fs) {
      fs.hidden = fs.getAttribute("data-sink") !== modeSelect.value;
    });
  }
  function showTrigger() {
    form.querySelectorAll("[data-trigger]").forEach(function (el) {
      el.hidden = el.getAttribute("data-trigger") !== triggerSelect.value;
    });
  }
  modeSelect.addEventListener("change", showMode);
  triggerSelect.addEventListener("change", showTrigger);

  function activeFieldset() {
    return form.querySelector('fieldset.sink-options[data-sink="' + modeSelect.value + '"]');
  }
  function setOption(el, value) {
    var widget = el.getAttribute("data-widget");
    if (widget === "checkbox") { el.checked = !!value; }
    else if (widget === "list") { el.value = Array.isArray(value) ? value.join("\n") : (value || ""); }
    else if (widget === "json") { el.value = value && Object.keys(value).length ? JSON.stringify(value) : ""; }
    else { el.value = value === null || value === undefined ? "" : String(value); }
  }
  function readOption(el) {
    var widget = el.getAttribute("data-widget"), raw = el.value;
    if (widget === "checkbox") { return {value: el.checked}; }
    if (widget === "list") {
      var items = raw.split(/[\n,]/).map(function (s) { return s.trim(); }).filter(Boolean);
      return items.length ? {value: items} : {skip: true};
    }
    // empty: the API names a missing required option; null where the option allows it
    // (e.g. "empty: never"); otherwise the default applies
    if (raw === "" && el.hasAttribute("data-required")) { return {skip: true}; }
    if (raw === "" && el.hasAttribute("data-null")) { return {value: null}; }
    if (raw === "" && (widget === "number" || widget === "select" || widget === "json")) {
      return {skip: true};
    }
    // not JSON: send the text, so the server's 400 names the field
    if (widget === "json") { try { return {value: JSON.parse(raw)}; } catch (e) { return {value: raw}; } }
    if (widget === "number") { return {value: Number(raw)}; }
    return {value: raw};
  }

  // fill the form when editing
  var dataEl = document.getElementById("schedule-data");
  if (dataEl) {
    var s = JSON.parse(dataEl.textContent);
    ["name", "description", "timezone", "query", "connection"].forEach(function (k) {
      var el = form.elements[k];
      if (!el || s[k] === undefined || s[k] === null) { return; }
      if (el.tagName === "SELECT" && !Array.prototype.some.call(el.options, function (o) {
        return o.value === String(s[k]); })) {
        // a stored value the list does not know (a hand edit): keep it visible to fix it
        el.add(new Option(s[k] + " (not known)", s[k]), 0);
      }
      el.value = s[k];
    });
    if (s.timezone === undefined) { form.elements.timezone.value = "UTC"; }  // the stored default
    form.elements.on_empty.value = s.on_empty || "send";
    form.elements.catchup.value = s.catchup || "none";
    ["min_rows", "max_rows", "max_staleness_sec"].forEach(function (k) {
      form.elements[k].value = s[k] === undefined || s[k] === null ? "" : s[k];
    });
    form.elements.enabled.checked = !!s.enabled;
    var t = s.trigger || {};
    triggerSelect.value = t.type || "cron";
    if (t.type === "cron") { form.elements.trigger_expression.value = t.expression || ""; }
    else {
      form.elements.trigger_seconds.value = (t.seconds || 0) + 60 * (t.minutes || 0) +
        3600 * (t.hours || 0) + 86400 * (t.days || 0);
    }
    var inc = s.incremental || {};
    form.elements.inc_column.value = inc.column || "";
    form.elements.inc_tiebreaker.value = inc.tiebreaker || "";
    form.elements.inc_delay_sec.value = inc.delay_sec === undefined || inc.delay_sec === null ? "" : inc.delay_sec;
    form.elements.inc_start.value = inc.start === undefined || inc.start === null ? "" : inc.start;
    modeSelect.value = s.sharing_mode;
    var fs = activeFieldset();
    if (fs) {
      fs.querySelectorAll("[data-option]").forEach(function (el) {
        var key = el.getAttribute("data-option");
        if (s.sink_options && key in s.sink_options) { setOption(el, s.sink_options[key]); }
      });
    }
  }
  showMode();
  showTrigger();

  function clearErrors() {
    var box = form.querySelector(".form-error");
    box.hidden = true; box.textContent = "";
    form.querySelectorAll(".field-error").forEach(function (el) { el.hidden = true; el.textContent = ""; });
    form.querySelectorAll(".field.invalid").forEach(function (el) { el.classList.remove("invalid"); });
  }
  function markField(path, message) {
    // "$.sink_options.delimiter" → the field with data-path="sink_options.delimiter"
    path = (path || "").replace(/^\$\.?/, "");
    var scope = path.indexOf("sink_options") === 0 ? activeFieldset() : form;
    var field = null;
    while (path && !field) {
      field = scope && scope.querySelector('.field[data-path="' + path + '"]');
      path = path.indexOf(".") > 0 ? path.slice(0, path.lastIndexOf(".")) : "";
    }
    if (!field) { return false; }
    field.classList.add("invalid");
    var small = field.querySelector(".field-error");
    small.textContent = small.textContent ? small.textContent + "; " + message : message;
    small.hidden = false;
    return true;
  }
  // every problem the API found at once: each next to its field, all listed above the form
  function showError(err) {
    var box = form.querySelector(".form-error");
    var problems = err.errors || [{path: err.path, error: err.message}];
    box.replaceChildren();
    if (problems.length > 1) {
      box.appendChild(document.createTextNode(problems.length + " problems:"));
      var list = document.createElement("ul");
      problems.forEach(function (p) {
        var li = document.createElement("li");
        li.textContent = (p.path ? p.path + ": " : "") + p.error;
        list.appendChild(li);
      });
      box.appendChild(list);
    } else {
      box.textContent = (err.path ? err.path + ": " : "") + err.message;
    }
    box.hidden = false;
    problems.forEach(function (p) { markField(p.path, p.error); });
  }
  window.pstt.showFormErrors = showError;
  // an invalid stored schedule: its problems next to the fields from the start
  var storedErrors = document.getElementById("schedule-errors");
  if (storedErrors) {
    var problems = JSON.parse(storedErrors.textContent);
    if (problems.length) {
      showError({errors: problems, path: problems[0].path, message: problems[0].error});
    }
  }

  /* ---- Preview: the first rows of the query, read-only, nothing saved ---- */
  var previewBtn = document.getElementById("preview-btn");
  var previewBox = document.getElementById("preview");
  function showPreview(res) {
    previewBox.replaceChildren();
    var note = document.createElement("p");
    note.className = "help";
    note.textContent = res.rows.length + " row(s)" + (res.truncated ? " (first rows only)" : "") +
      " in " + res.duration_ms + " ms";
    var wrap = document.createElement("div");
    wrap.className = "table-wrap";
    var table = document.createElement("table");
    var head = table.createTHead().insertRow();
    res.columns.forEach(function (c) {
      var th = document.createElement("th"); th.textContent = c; head.appendChild(th);
    });
    var body = table.createTBody();
    res.rows.forEach(function (row) {
      var tr = body.insertRow();
      row.forEach(function (v) {
        tr.insertCell().textContent = v === null ? "" : (typeof v === "object" ? JSON.stringify(v) : String(v));
      });
    });
    wrap.appendChild(table);
    previewBox.appendChild(note);
    previewBox.appendChild(wrap);
  }
  if (previewBtn) {
    previewBtn.addEventListener("click", function () {
      previewBox.hidden = false;
      previewBox.className = "preview";
      previewBox.textContent = "running…";
      previewBtn.disabled = true;
      api("POST", ROOT + "/api/preview", {connection: form.elements.connection.value,
                                          query: form.elements.query.value}).then(showPreview)
        .catch(function (err) {
          previewBox.className = "preview error-text";
          previewBox.textContent = (err.path ? err.path + ": " : "") + err.message;
        }).then(function () { previewBtn.disabled = false; });
    });
  }

  /* the next five fire times under the trigger, as the user types (POST /api/triggers/preview) */
  var nextList = form.querySelector("#f-next-runs"), nextError = form.querySelector("#f-next-error");
  var previewTimer = null, previewSeq = 0;
  var WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  /* "2026-10-25T02:30:00+02:00" → "Sun 2026-10-25 02:30 +02:00": the wall clock of the
     schedule's zone as the server placed it; the offset shows on which side of a DST change */
  function fireTimeText(iso) {
    var m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d:\d\d)(:\d\d)?(?:\.\d+)?([+-]\d\d:\d\d)$/.exec(iso);
    if (!m) { return iso; }
    var day = WEEKDAYS[new Date(Date.UTC(+m[1], +m[2] - 1, +m[3])).getUTCDay()];
    var seconds = m[5] && m[5] !== ":00" ? m[5] : "";
    return day + " " + m[1] + "-" + m[2] + "-" + m[3] + " " + m[4] + seconds + " " + m[6];
  }
  function currentTrigger() {
    return triggerSelect.value === "cron"
      ? {type: "cron", expression: form.elements.trigger_expression.value}
      : {type: "interval", seconds: Number(form.elements.trigger_seconds.value || 0)};
  }
  function previewNextRuns() {
    var seq = ++previewSeq;
    api("POST", ROOT + "/api/triggers/preview",
        {trigger: currentTrigger(), timezone: form.elements.timezone.value, count: 5})
      .then(function (data) {
        if (seq !== previewSeq) { return; }  // an answer to an older keystroke
        nextError.hidden = true;
        nextList.replaceChildren.apply(nextList, data.next_runs.map(function (t) {
          var li = document.createElement("li");
          li.dataset.time = t; li.textContent = fireTimeText(t); li.title = t;
          return li;
        }));
        suggestStaleness(data.next_runs);
      }).catch(function (err) {
        if (seq !== previewSeq) { return; }
        nextList.replaceChildren();
        nextError.textContent = err.message; nextError.hidden = false;
      });
  }
  // The staleness alert's suggestion: twice the gap between fires.
  function suggestStaleness(times) {
    var hint = document.getElementById("f-staleness-hint");
    if (!hint || times.length < 2) { return; }
    var gap = (Date.parse(times[1]) - Date.parse(times[0])) / 1000;
    if (!(gap > 0)) { return; }
    hint.textContent = "suggested: " + (2 * gap) + " (twice the interval between fires)";
    form.elements.max_staleness_sec.placeholder = "no alert (suggested " + (2 * gap) + ")";
  }
  function schedulePreview() {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(previewNextRuns, 250);
  }
  ["trigger_expression", "trigger_seconds", "timezone"].forEach(function (name) {
    form.elements[name].addEventListener("input", schedulePreview);
  });
  triggerSelect.addEventListener("change", schedulePreview);
  previewNextRuns();

  // the incremental block, or null (not incremental) when no cursor column is given
  function readIncremental() {
    var column = form.elements.inc_column.value.trim();
    if (!column) { return null; }
    var inc = {column: column};
    var tb = form.elements.inc_tiebreaker.value.trim();
    if (tb) { inc.tiebreaker = tb; }
    var delay = form.elements.inc_delay_sec.value.trim();
    if (delay) { inc.delay_sec = Number(delay); }
    var start = form.elements.inc_start.value.trim();
    if (start) { inc.start = start; }
    return inc;
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    clearErrors();
    var body = {
      name: form.elements.name.value, description: form.elements.description.value,
      connection: form.elements.connection.value, query: form.elements.query.value,
      timezone: form.elements.timezone.value, enabled: form.elements.enabled.checked,
      sharing_mode: modeSelect.value, sink_options: {},
      on_empty: form.elements.on_empty.value, catchup: form.elements.catchup.value
    };
    ["min_rows", "max_rows", "max_staleness_sec"].forEach(function (k) {
      var v = form.elements[k].value;
      body[k] = v === "" ? null : Number(v);
    });
    if (form.elements.id && form.elements.id.value) { body.id = form.elements.id.value; }
    if (triggerSelect.value === "cron") {
      body.trigger = {type: "cron", expression: form.elements.trigger_expression.value};
    } else {
      body.trigger = {type: "interval", seconds: Number(form.elements.trigger_seconds.value || 0)};
    }
    body.incremental = readIncremental();
    if (form.elements.reset_watermark && form.elements.reset_watermark.checked) {
      body.reset_watermark = true;
    }
    var fs = activeFieldset();
    if (fs) {
      fs.querySelectorAll("[data-option]").forEach(function (el) {
        var got = readOption(el);
        if (!got.skip) { body.sink_options[el.getAttribute("data-option")] = got.value; }
      });
    }
    var submit = form.querySelector("button[type=submit]");
    submit.disabled = true;
    api(form.getAttribute("data-method"), form.getAttribute("data-url"), body).then(function (saved) {
      var done = form.getAttribute("data-method") === "POST"
        ? ROOT + "/scheduler/" + encodeURIComponent(saved.id) : form.getAttribute("data-done");
      reloadWith("Schedule " + saved.id + " saved.", "success", done);
    }).catch(showError).then(function () { submit.disabled = false; });
  });
})();
