// Live alert queue: when the agency's alerts change (Server-Sent Events from
// /console/watch/events), the list is refetched and swapped in place, and a status line
// announces it. Nothing from an alert is inserted as markup built here: the list comes
// from the server's own escaped page. Served from /static (script-src 'self').
(function () {
  "use strict";
  var marker = document.getElementById("alerts-live");
  if (!marker || !window.EventSource || !window.fetch || !window.DOMParser) { return; }

  function announce(active, failed) {
    var note = document.getElementById("alerts-changed");
    if (!note) { return; }
    note.textContent = (failed ? "The alerts changed (" : "Alerts updated: ") +
      String(active) + " active" + (failed ? "). " : ".");
    if (failed) {
      var link = document.createElement("a");
      link.href = window.location.pathname + window.location.search;
      link.textContent = "Refresh";
      note.appendChild(link);
    }
    note.hidden = false;
  }

  function swap(active) {
    var current = document.getElementById("alerts-list");
    if (!current) { announce(active, true); return; }
    fetch(window.location.pathname + window.location.search,
          { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("alerts-list");
        if (!fresh) { announce(active, true); return; }
        current.replaceWith(document.importNode(fresh, true));
        marker.setAttribute("data-active", String(active));
        announce(active, false);
      })
      .catch(function () { announce(active, true); });
  }

  var source = new EventSource("/console/watch/events");
  source.addEventListener("alerts", function (event) {
    var state;
    try { state = JSON.parse(event.data); } catch (e) { return; }
    // The page carries the state it was rendered from: any difference is news.
    if (marker.getAttribute("data-stamp") === event.data) { return; }
    marker.setAttribute("data-stamp", event.data);
    swap(state.active);
  });
})();
