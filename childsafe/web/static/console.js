// Live queue: when the agency's queue changes (Server-Sent Events), the queue table is
// refetched and swapped in place, unless the officer has selected rows for a bulk action,
// in which case a notice offers the refresh instead. Served from /static (script-src 'self').
(function () {
  "use strict";
  var marker = document.getElementById("queue-live");
  if (!marker || !window.EventSource || !window.fetch || !window.DOMParser) { return; }
  var first = true;

  function notice(open) {
    var note = document.getElementById("queue-changed");
    if (!note) { return; }
    note.textContent = "The queue changed (" + String(open) + " open). ";
    var link = document.createElement("a");
    link.href = window.location.pathname + window.location.search;
    link.textContent = "Refresh";
    note.appendChild(link);
    note.hidden = false;
  }

  function swap(open) {
    var current = document.querySelector("#queue tbody");
    if (!current || document.querySelector("#queue input[type=checkbox]:checked")) {
      notice(open);
      return;
    }
    fetch(window.location.pathname + window.location.search,
          { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.querySelector("#queue tbody");
        if (!fresh) { notice(open); return; }
        current.replaceWith(document.importNode(fresh, true));
        marker.setAttribute("data-open", String(open));
      })
      .catch(function () { notice(open); });
  }

  var source = new EventSource("/console/events");
  source.addEventListener("queue", function (event) {
    var state;
    try { state = JSON.parse(event.data); } catch (e) { return; }
    if (first) { first = false; marker.setAttribute("data-open", String(state.open)); return; }
    swap(state.open);
  });
})();
