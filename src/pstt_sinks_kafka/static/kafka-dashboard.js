/* Kafka dashboard: reads /api/kafka/* and draws cards, charts, tables; drives the forms.
   Vanilla JS; Chart.js is the vendored copy in ./vendor. All text goes through textContent. */
(function () {
  "use strict";
  // The app may be mounted under a prefix: pstt.js exposes it (meta "pstt-root").
  var API = ((window.pstt && window.pstt.root) || "") + "/api/kafka";
  var REFRESH_MS = 30000;
  var charts = { throughput: null, latency: null };
  window.psttKafka = { charts: charts, refresh: refresh };

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function api(method, path, body) {
    var opts = { method: method, credentials: "same-origin",
                 headers: { "Accept": "application/json" } };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.headers["X-CSRF-Token"] = csrfToken();
      opts.body = JSON.stringify(body);
    }
    return fetch(API + path, opts).then(function (resp) {
      return resp.json().catch(function () { return { error: "HTTP " + resp.status }; })
        .then(function (data) { return { ok: resp.ok, status: resp.status, data: data }; });
    });
  }

  function $(id) { return document.getElementById(id); }
  function num(v, digits) {
    if (v === null || v === undefined || isNaN(v)) return "–";
    return Number(v).toLocaleString("en-US", { maximumFractionDigits: digits || 0 });
  }
  function setText(id, text) { var el = $(id); if (el) el.textContent = text; }

  function renderSummary(s) {
    // counts of every run in the history, not only this process's deliveries
    var h = s.history || {runs: null, by_status: {}, messages_sent: s.messages,
                          messages_failed: s.failures, success_rate: s.success_rate};
    setText("card-runs", num(h.runs));
    var bad = (h.by_status.failed || 0) + (h.by_status.partial || 0);
    setText("card-runs-detail", h.runs ? bad + " failed or partial" : "");
    setText("card-messages", num(h.messages_sent));
    setText("card-failures", num(h.messages_failed));
    setText("card-success-rate", h.success_rate == null ? "–" : num(h.success_rate, 2) + " %");
    setText("card-latency-avg", s.latency_avg_ms == null ? "–" : num(s.latency_avg_ms, 1) + " ms");
    setText("card-latency-p95", s.latency_p95_ms == null ? "–" : num(s.latency_p95_ms, 1) + " ms");
    setText("card-throughput", s.throughput_msg_s == null ? "–" : num(s.throughput_msg_s, 1) + " msg/s");
    setText("kafka-updated", "updated " + when(new Date()));
  }

  // times as on every other page: pstt.js's one format in the display zone
  function when(value, short) {
    return window.pstt ? window.pstt.formatTime(value, short) : String(value);
  }

  function hourLabel(h) { return when(h, true); }

  function lineChart(canvasId, datasets, yTitle) {
    return new Chart($(canvasId), {
      type: "line",
      data: { labels: [], datasets: datasets },
      options: { responsive: true, maintainAspectRatio: false, animation: false,
                 interaction: { mode: "index", intersect: false },
                 spanGaps: true,
                 scales: { x: { ticks: { maxRotation: 0, autoSkip: true, autoSkipPadding: 12,
                                         maxTicksLimit: window.innerWidth < 600 ? 4 : 12 } },
                           y: { beginAtZero: true, title: { display: true, text: yTitle } } } }
    });
  }

  function makeCharts() {
    if (typeof Chart === "undefined") return;
    charts.throughput = lineChart("chart-throughput", [
      { label: "Messages", data: [], borderColor: "#1d3557", backgroundColor: "rgba(29,53,87,.15)", fill: true },
      { label: "Failures", data: [], borderColor: "#c1121f", backgroundColor: "rgba(193,18,31,.15)", fill: true }
    ], "messages / hour");
    charts.latency = lineChart("chart-latency", [
      { label: "avg", data: [], borderColor: "#2a9d8f" },
      { label: "p50", data: [], borderColor: "#457b9d" },
      { label: "p95", data: [], borderColor: "#e9c46a" },
      { label: "p99", data: [], borderColor: "#e76f51" }
    ], "ms");
  }

  function renderHourly(rows) {
    if (!charts.throughput) return;
    var labels = rows.map(function (r) { return hourLabel(r.hour); });
    function col(k) { return rows.map(function (r) { return r[k]; }); }
    charts.throughput.data.labels = labels;
    charts.throughput.data.datasets[0].data = col("messages");
    charts.throughput.data.datasets[1].data = col("failures");
    charts.latency.data.labels = labels;
    ["latency_avg_ms", "latency_p50_ms", "latency_p95_ms", "latency_p99_ms"].forEach(function (k, i) {
      charts.latency.data.datasets[i].data = col(k);
    });
    charts.throughput.update();
    charts.latency.update();
  }

  function renderTopics(rows) {
    var body = $("topics-body");
    body.replaceChildren();
    if (!rows.length) {
      var tr = body.insertRow(); var td = tr.insertCell();
      td.colSpan = 8; td.className = "muted"; td.textContent = "No messages yet.";
      return;
    }
    rows.forEach(function (r) {
      var tr = body.insertRow();
      [r.topic, r.connection, num(r.messages), num(r.bytes), num(r.failures),
       num(r.latency_avg_ms, 1), num(r.latency_p95_ms, 1),
       r.last_message_at ? when(r.last_message_at) : "–"
      ].forEach(function (v) { tr.insertCell().textContent = v; });
    });
  }

  function renderHealth(h) {
    var badge = $("kafka-health-overall");
    badge.textContent = h.status.replace("_", " ");
    badge.className = "health-badge " + h.status;
    (h.connections || []).forEach(function (c) {
      var row = document.querySelector('tr[data-connection="' + CSS.escape(c.name) + '"]');
      if (!row) return;
      var dot = row.querySelector(".health-dot");
      dot.className = "health-dot " + (c.healthy ? "healthy" : "unhealthy");
      dot.title = c.healthy ? "reachable" : (c.error || "unreachable");
      // the reason in words next to the dot, not only in a tooltip
      var text = row.querySelector(".health-text");
      text.textContent = c.healthy ? "reachable" : (c.error || "unreachable");
      text.className = "health-text " + (c.healthy ? "muted" : "error-text");
      row.querySelector(".health-latency").textContent =
        c.latency_ms == null ? "–" : num(c.latency_ms, 1) + " ms";
    });
  }

  function refresh() {
    var jobs = [
      api("GET", "/metrics/summary").then(function (r) { if (r.ok) renderSummary(r.data); }),
      api("GET", "/metrics/hourly?hours=24").then(function (r) { if (r.ok) renderHourly(r.data); }),
      api("GET", "/metrics/topics").then(function (r) { if (r.ok) renderTopics(r.data); }),
      api("GET", "/health").then(function (r) { if (r.ok) renderHealth(r.data); })
    ];
    return Promise.all(jobs).catch(function (e) { setText("kafka-updated", "refresh failed: " + e); });
  }

  function showResult(el, resp) {
    el.className = "form-result " + (resp.ok ? "ok" : "failed");
    el.textContent = JSON.stringify(resp.data, null, 2);
  }

  function parseJson(text, what) {
    try { return { value: JSON.parse(text) }; }
    catch (e) { return { error: what + " is not valid JSON: " + e.message }; }
  }

  function sendMessage(ev) {
    ev.preventDefault();
    var out = $("send-result");
    var raw = $("send-value").value;
    var parsed = parseJson(raw, "value");
    // Text that is not JSON is sent as a plain string value.
    var body = { connection: $("send-connection").value, topic: $("send-topic").value.trim(),
                 value: parsed.error ? raw : parsed.value };
    if ($("send-key").value !== "") body.key = $("send-key").value;
    if ($("send-headers").value.trim()) {
      var headers = parseJson($("send-headers").value, "headers");
      if (headers.error) { showResult(out, { ok: false, data: { error: headers.error } }); return; }
      body.headers = headers.value;
    }
    out.textContent = "sending…"; out.className = "form-result";
    api("POST", "/send", body).then(function (r) { showResult(out, r); refresh(); });
  }

  function sendBatch(ev) {
    ev.preventDefault();
    var out = $("batch-result");
    var parsed = parseJson($("batch-messages").value, "messages");
    if (parsed.error) { showResult(out, { ok: false, data: { error: parsed.error } }); return; }
    var body = { connection: $("batch-connection").value, topic: $("batch-topic").value.trim(),
                 messages: parsed.value };
    if ($("batch-size").value) body.batch_size = Number($("batch-size").value);
    out.textContent = "sending…"; out.className = "form-result";
    api("POST", "/batch", body).then(function (r) { showResult(out, r); refresh(); });
  }

  function testConnection(ev) {
    var btn = ev.target;
    var out = btn.parentNode.querySelector(".test-result");
    btn.disabled = true; out.textContent = "testing…"; out.className = "test-result";
    api("POST", "/test", { connection: btn.dataset.connection }).then(function (r) {
      btn.disabled = false;
      var ok = r.ok && r.data.success;
      out.className = "test-result " + (ok ? "ok" : "failed");
      out.textContent = ok ? "OK · " + num(r.data.latency_ms, 1) + " ms · " +
        (r.data.brokers || []).length + " broker(s)" : "Failed: " + (r.data.error || "HTTP " + r.status);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    makeCharts();
    $("send-form").addEventListener("submit", sendMessage);
    $("batch-form").addEventListener("submit", sendBatch);
    document.querySelectorAll(".test-btn").forEach(function (b) {
      b.addEventListener("click", testConnection);
    });
    refresh();
    setInterval(refresh, REFRESH_MS);
  });
})();
