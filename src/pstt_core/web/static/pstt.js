/* PSTT pages: calls to the JSON API with the CSRF token, the schedule form, buttons.
   No framework, no external assets. */
(function () {
  "use strict";
  var meta = function (name) {
    var el = document.querySelector('meta[name="' + name + '"]');
    return el ? el.getAttribute("content") : "";
  };
  var ROOT = meta("pstt-root");
  var ZONE = meta("pstt-timezone");

  /* Every time on a page in one format and zone (PSTT_DISPLAY_TIMEZONE), as the server
     renders them: 2026-01-21 08:00:00 CET. ``short`` drops the seconds and the date. */
  function formatTime(value, short) {
    var d = value instanceof Date ? value : new Date(value);
    if (value === null || value === undefined || value === "" || isNaN(d)) {
      return value ? String(value) : "—";
    }
    var opts = {year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit",
                minute: "2-digit", second: "2-digit", hourCycle: "h23", timeZoneName: "short"};
    if (ZONE) { opts.timeZone = ZONE; }
    var p = {};
    new Intl.DateTimeFormat("en-GB", opts).formatToParts(d).forEach(function (part) {
      p[part.type] = part.value;
    });
    if (short) { return p.hour + ":" + p.minute; }
    return p.year + "-" + p.month + "-" + p.day + " " + p.hour + ":" + p.minute + ":" +
      p.second + " " + p.timeZoneName;
  }

  function api(method, url, body) {
    var opts = {method: method, credentials: "same-origin",
                headers: {"X-CSRF-Token": meta("csrf-token"), "Accept": "application/json"}};
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    return fetch(url, opts).then(function (resp) {
      return resp.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = {error: text}; }
        if (!resp.ok) {
          var err = new Error((data && data.error) || ("HTTP " + resp.status));
          err.path = data && data.path; err.status = resp.status;
          err.errors = (data && data.errors) || null;  // every problem, when there are several
          throw err;
        }
        return data;
      });
    });
  }
  window.pstt = {api: api, root: ROOT, zone: ZONE, formatTime: formatTime};  // + flash, reloadWith

  function flash(text, kind) {
    var el = document.getElementById("flash");
    if (!el) { return; }
    el.textContent = text;
    el.className = "flash flash-" + (kind || "info");
    el.hidden = false;
  }
  // a message shown after the reload that follows an action
  var pending = sessionStorage.getItem("pstt-flash");
  if (pending) {
    sessionStorage.removeItem("pstt-flash");
    var msg = JSON.parse(pending);
    flash(msg.text, msg.kind);
  }
  function reloadWith(text, kind, target) {
    sessionStorage.setItem("pstt-flash", JSON.stringify({text: text, kind: kind}));
    if (target) { location.href = target; } else { location.reload(); }
  }

  function waitForRun(exportId) {
    return new Promise(function (resolve, reject) {
      (function poll() {
        api("GET", ROOT + "/api/runs/" + encodeURIComponent(exportId)).then(function (rec) {
          if (rec.status === "running") { setTimeout(poll, 400); } else { resolve(rec); }
        }).catch(reject);
      })();
    });
  }

  window.pstt.flash = flash;
  window.pstt.reloadWith = reloadWith;

  /* ---- action buttons (run now, enable, disable, delete) ---- */
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest("button[data-action]");
    if (!btn) { return; }
    var id = btn.getAttribute("data-id"), action = btn.getAttribute("data-action");
    var base = ROOT + "/api/schedules/" + encodeURIComponent(id);
    var call;
    if (action === "delete") {
      if (!confirm("Delete schedule " + id + "?")) { return; }
      call = api("DELETE", base).then(function () {
        reloadWith("Schedule " + id + " deleted.", "success", btn.getAttribute("data-after"));
      });
    } else if (action === "reset-watermark") {
      if (!confirm("Reset the watermark of " + id + "? The next run exports again from its start.")) { return; }
      call = api("DELETE", base + "/watermark").then(function () {
        reloadWith("Watermark of " + id + " reset.", "success");
      });
    } else if (action === "run") {
      flash("Running " + id + "…", "info");
      // start in the background and poll, so a long export never hits a proxy timeout
      call = api("POST", base + "/run?background=true").then(function (started) {
        return waitForRun(started.export_id);
      }).then(function (rec) {
        var text = "Run of " + id + " finished: " + rec.status + ", " + rec.rows + " rows" +
                   (rec.error ? " — " + rec.error : "");
        reloadWith(text, rec.status === "success" ? "success" : "error");
      });
    } else {
      call = api("POST", base + "/" + action).then(function () {
        reloadWith("Schedule " + id + " " + action + "d.", "success");
      });
    }
    btn.disabled = true;
    call.catch(function (err) { flash(err.message, "error"); }).then(function () { btn.disabled = false; });
  });

  /* ---- connection test buttons ---- */
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest("button[data-test-url]");
    if (!btn) { return; }
    var out = btn.parentNode.querySelector(".test-result");
    out.textContent = "testing…"; out.className = "test-result";
    btn.disabled = true;
    api("POST", btn.getAttribute("data-test-url")).then(function (res) {
      out.textContent = res.success ? "OK (" + res.latency_ms + " ms)" : "failed: " + res.error;
      out.className = "test-result " + (res.success ? "ok" : "error-text");
    }).catch(function (err) {
      out.textContent = "failed: " + err.message; out.className = "test-result error-text";
    }).then(function () { btn.disabled = false; });
  });
})();
