// The connections page's sync progress: each running sync's bar and words follow its run (polled as JSON once a
// second) until it ends; its last words are then announced to screen readers. Without this script the page still
// shows each run as it was when loaded.
(function () {
  "use strict";
  var POLL_MS = 1000;
  var RETRY_MS = 5000;

  function follow(box) {
    var url = box.getAttribute("data-sync-progress");
    var bar = box.querySelector("progress");
    var words = box.querySelector(".sync-words");
    var announce = box.querySelector(".sync-announce");

    function show(run) {
      words.textContent = run.words;
      box.className = "sync-run sync-" + (run.state || "none");
      if (run.percent === null || run.percent === undefined) {
        bar.removeAttribute("value");
      } else {
        bar.value = run.percent;
      }
    }

    function tick() {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.json();
        })
        .then(function (run) {
          show(run);
          if (run.live) {
            window.setTimeout(tick, POLL_MS);
          } else {
            bar.hidden = true;
            box.setAttribute("data-live", "false");
            announce.textContent = run.words;
          }
        })
        .catch(function () { window.setTimeout(tick, RETRY_MS); });
    }

    window.setTimeout(tick, POLL_MS);
  }

  document.querySelectorAll("[data-sync-progress][data-live='true']").forEach(follow);
}());
