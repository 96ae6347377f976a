// Follows the order: polls the status every 2 s, every 10 s once it takes longer than usual,
// and stops when the report is ready, failed or refunded. Without this script the page
// refreshes itself (a <meta refresh> inside <noscript>).
(function () {
  "use strict";
  var order = document.getElementById("order");
  if (!order) return;
  var url = order.getAttribute("data-status-url");
  var slowAfter = Number(order.getAttribute("data-slow-after")) * 1000;
  var started = Date.now() - Number(order.getAttribute("data-elapsed")) * 1000;
  var FAST = 2000;
  var SLOW = 10000;
  var FINISHED = ["ready", "failed", "refunded"];

  function el(id) {
    return document.getElementById(id);
  }
  function show(id, visible) {
    var node = el(id);
    if (node) node.hidden = !visible;
  }
  function setText(id, value) {
    var node = el(id);
    if (node && typeof value === "string") node.textContent = value;
  }
  function isSlow() {
    return Date.now() - started >= slowAfter;
  }

  function render(s) {
    // An erased order (its details and report are gone) is finished whatever its status.
    var done = !!s.erased || FINISHED.indexOf(s.status) !== -1;
    order.setAttribute("data-status", s.status);
    setText("headline", s.headline);
    setText("explanation", s.explanation);
    document.title = s.headline + " · diagpro";
    var steps = document.querySelectorAll("#progress li");
    for (var i = 0; i < steps.length; i++) {
      var n = Number(steps[i].getAttribute("data-step"));
      steps[i].className = n < s.step ? "done" : n === s.step ? "active" : "";
    }
    show("progress", s.status !== "failed" && s.status !== "refunded");
    show("explanation", s.status !== "failed" || !!s.erased);
    show("working", !done);
    show("slow", !done && (s.slow || isSlow()));
    show("ready", s.status === "ready" && !s.erased);
    if (s.status === "ready") {
      el("download").href = s.downloadUrl;
      el("view").href = s.viewUrl;
    }
    show("failed", s.status === "failed" && !s.erased);
    if (s.status === "failed") {
      setText("failure-reason", s.failureReason);
      show("retry-form", !!s.canRetry);
      show("retry-note", !!s.canRetry);
      show("no-retry", !s.canRetry);
    }
    return done;
  }

  function schedule() {
    if (isSlow()) show("slow", true);
    window.setTimeout(poll, isSlow() ? SLOW : FAST);
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (response) {
        if (!response.ok) throw new Error("status " + response.status);
        return response.json();
      })
      .then(function (status) {
        if (!render(status)) schedule();
      })
      .catch(schedule);
  }

  var erased = order.getAttribute("data-erased") === "true";
  if (!erased && FINISHED.indexOf(order.getAttribute("data-status")) === -1) schedule();
})();
