// The progress of a background job: poll its JSON and move the bar in place (the page's
// meta refresh does the same without JavaScript; with it, the refresh is cancelled).
(function () {
  "use strict";
  var box = document.querySelector("[data-job-status]");
  if (!box) { return; }
  var refresh = document.querySelector('meta[http-equiv="refresh"]');
  if (refresh) { refresh.parentNode.removeChild(refresh); }
  var bar = box.querySelector("progress");
  function show(job) {
    bar.max = job.total || 1;
    bar.value = job.status === "done" ? job.total : job.done;
    box.querySelector(".job-done").textContent = job.status === "done" ? job.total : job.done;
    box.querySelector(".job-total").textContent = job.total;
    box.querySelector(".job-percent").textContent = job.percent;
    box.setAttribute("data-status", job.status);
  }
  function poll() {
    fetch(box.getAttribute("data-job-status"), {credentials: "same-origin",
                                                headers: {"Accept": "application/json"}})
      .then(function (r) { return r.json(); })
      .then(function (job) {
        show(job);
        if (job.status === "queued" || job.status === "running") {
          window.setTimeout(poll, 500);
        } else {
          window.location.reload();  // the finished page: its link, or its error
        }
      })
      .catch(function () { window.setTimeout(poll, 2000); });
  }
  if (box.getAttribute("data-running") === "1") {
    window.setTimeout(poll, 300);
  }
}());
