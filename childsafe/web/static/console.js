// Live queue: when the agency's queue changes, offer a refresh (never reloads under a user's
// typing). Served from /static, so the page keeps a script-src 'self' policy.
(function () {
  "use strict";
  var queue = document.getElementById("queue-live");
  if (!queue || !window.EventSource) { return; }
  var first = true;
  var source = new EventSource("/console/events");
  source.addEventListener("queue", function (event) {
    if (first) { first = false; return; }
    var state;
    try { state = JSON.parse(event.data); } catch (e) { return; }
    var note = document.getElementById("queue-changed");
    note.textContent = "The queue changed (" + String(state.open) + " open). ";
    var link = document.createElement("a");
    link.href = window.location.pathname + window.location.search;
    link.textContent = "Refresh";
    note.appendChild(link);
    note.hidden = false;
  });
})();
