/*
 * childsafe monitored badge for chat and IM providers. No dependencies. Contract version 1.
 *
 *   <script src="https://childsafe.example/static/badge.js" data-room="rm_…" data-lang="en"
 *           data-version="1" defer></script>
 *
 * Shows whether, and by whom, a room is monitored now, from the public badge endpoint
 * (GET /api/v1/rooms/{room}/badge, JSON, CORS *): the monitored symbol, the label, the
 * agencies and a link to safety help, in one element with role="status" and an aria-label
 * holding the whole sentence. Refreshes every few minutes (data-refresh, in seconds, 60 to
 * 3600, default 180) and when the page becomes visible again.
 *
 * Optional attributes: data-target="#css-selector" renders into that element (else right
 * after the script tag, or at the end of <body> when the script is in <head>).
 *
 * Versioning: `data-version` names the contract the page was written for (the attributes
 * above, the element's id `childsafe-badge-<room>`, its `data-state`, and
 * `window.ChildsafeBadge`). Changes within a contract are backwards compatible; a page
 * asking for a contract this script does not implement gets no badge and a console warning,
 * never a different behaviour. `window.ChildsafeBadge.version` is this script's version.
 *
 * CSP-safe: every node is built with createElement/textContent (never markup from data) and
 * styled through the CSSOM, so it runs under a strict host CSP (no inline script or style).
 * The host page's CSP must allow this origin in script-src and connect-src.
 */
(function () {
  "use strict";
  var VERSION = "1.0.0";
  var CONTRACTS = ["1"];
  var script = document.currentScript;
  if (!script) { return; }

  var registry = window.ChildsafeBadge || (window.ChildsafeBadge = {
    version: VERSION, contracts: CONTRACTS.slice(), badges: [],
    refreshAll: function () { this.badges.forEach(function (b) { b.refresh(); }); }
  });

  var wanted = String(script.getAttribute("data-version") || "1").split(".")[0];
  if (CONTRACTS.indexOf(wanted) < 0) {
    if (window.console) { console.warn("childsafe badge: contract " + wanted + " is not supported by badge.js " + VERSION); }
    return;
  }
  var room = script.getAttribute("data-room") || "";
  if (!/^rm_[a-f0-9]{24}$/.test(room)) {
    if (window.console) { console.warn("childsafe badge: data-room must be a room id such as rm_3f9a…"); }
    return;
  }
  var lang = (script.getAttribute("data-lang") || document.documentElement.lang || "en")
    .toLowerCase().slice(0, 2) === "fr" ? "fr" : "en";
  var every = parseInt(script.getAttribute("data-refresh") || "180", 10);
  if (!(every >= 60)) { every = 180; }
  if (every > 3600) { every = 3600; }
  var origin = new URL(script.src, window.location.href).origin;
  var url = origin + "/api/v1/rooms/" + encodeURIComponent(room) + "/badge?" +
    new URLSearchParams({ lang: lang }).toString();

  var WORDS = {
    en: { loading: "Checking whether this room is monitored…", by: "By: ", unavailable: "Monitoring status unavailable" },
    fr: { loading: "Vérification de la surveillance de ce salon…", by: "Par : ", unavailable: "État de la surveillance indisponible" }
  };
  var w = WORDS[lang];
  var COLOURS = {
    monitored: { bg: "#0b3d91", fg: "#ffffff", border: "#0b3d91", link: "#ffffff" },
    monitored_off_duty: { bg: "#fff4cc", fg: "#3d2e00", border: "#8a6d00", link: "#0b3d91" },
    not_monitored: { bg: "#f1f3f5", fg: "#1b1f24", border: "#7a8591", link: "#0b3d91" }
  };

  function el(tag, styles, text) {
    var node = document.createElement(tag);
    if (styles) { for (var k in styles) { if (Object.prototype.hasOwnProperty.call(styles, k)) { node.style[k] = styles[k]; } } }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function shield(colour) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "22");
    svg.setAttribute("height", "22");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", "M12 2 4 5v6c0 5 3.4 9.4 8 11 4.6-1.6 8-6 8-11V5l-8-3Zm-1.2 14.2-3.5-3.5 1.4-1.4 2.1 2.1 4.9-4.9 1.4 1.4-6.3 6.3Z");
    path.setAttribute("fill", colour);
    svg.appendChild(path);
    return svg;
  }

  var root = el("div", { display: "inline-flex", alignItems: "flex-start", gap: "8px",
    padding: "6px 12px", borderRadius: "6px", border: "2px solid #7a8591", background: "#f1f3f5",
    color: "#1b1f24", fontFamily: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    fontSize: "14px", lineHeight: "1.4", maxWidth: "100%", boxSizing: "border-box", textAlign: "left" });
  root.id = "childsafe-badge-" + room;
  root.className = "childsafe-badge";
  root.lang = lang;
  root.setAttribute("role", "status");
  root.setAttribute("aria-live", "polite");
  root.setAttribute("data-state", "loading");
  root.setAttribute("data-childsafe-badge", VERSION);
  var symbol = el("span", { flex: "0 0 auto", lineHeight: "0", marginTop: "1px" });
  var body = el("span", { display: "flex", flexDirection: "column" });
  var label = el("strong", { fontWeight: "700" }, w.loading);
  var agencies = el("span", { display: "none" });
  var help = el("a", { display: "none", textDecoration: "underline", fontWeight: "600" });
  help.target = "_blank";
  help.rel = "noopener noreferrer";
  help.addEventListener("focus", function () { help.style.outline = "3px solid #f2a900"; help.style.outlineOffset = "2px"; });
  help.addEventListener("blur", function () { help.style.outline = ""; });
  body.appendChild(label);
  body.appendChild(agencies);
  body.appendChild(help);
  root.appendChild(symbol);
  root.appendChild(body);
  root.setAttribute("aria-label", w.loading);

  var target = null;
  var selector = script.getAttribute("data-target");
  if (selector) { try { target = document.querySelector(selector); } catch (e) { target = null; } }
  if (target) { target.appendChild(root); }
  else if (script.parentNode && script.parentNode !== document.head) { script.parentNode.insertBefore(root, script.nextSibling); }
  else { document.body.appendChild(root); }

  var shown = null;
  function show(doc) {
    if (doc.digest && doc.digest === shown) { return; }
    shown = doc.digest || null;
    var state = COLOURS[doc.state] ? doc.state : "not_monitored";
    var c = COLOURS[state];
    root.setAttribute("data-state", state);
    root.style.background = c.bg;
    root.style.color = c.fg;
    root.style.borderColor = c.border;
    help.style.color = c.link;
    while (symbol.firstChild) { symbol.removeChild(symbol.firstChild); }
    if (state !== "not_monitored") { symbol.appendChild(shield(c.fg === "#ffffff" ? "#ffffff" : c.border)); }
    label.textContent = String(doc.label || "");
    var who = (doc.on_duty && doc.on_duty.length ? doc.on_duty : doc.monitoring || [])
      .slice(0, 5).map(function (a) { return String(a.name || a.code || ""); }).filter(Boolean);
    agencies.textContent = who.length ? w.by + who.join(", ") : "";
    agencies.style.display = who.length ? "block" : "none";
    var helpInfo = doc.help || {};
    var safe = typeof helpInfo.url === "string" && /^https?:\/\//.test(helpInfo.url);
    help.textContent = String(helpInfo.text || "");
    if (safe && helpInfo.text) { help.href = helpInfo.url; help.style.display = "inline"; }
    else { help.removeAttribute("href"); help.style.display = "none"; }
    root.setAttribute("aria-label", [doc.label, doc.message].filter(Boolean).map(String).join(". "));
    root.title = String(doc.message || "");
  }

  function unavailable(gone) {
    if (gone) { root.style.display = "none"; root.setAttribute("data-state", "gone"); return; }
    if (shown === null) {
      label.textContent = w.unavailable;
      root.setAttribute("aria-label", w.unavailable);
      root.setAttribute("data-state", "unavailable");
    }
  }

  var busy = false;
  function refresh() {
    if (busy) { return; }
    busy = true;
    fetch(url, { credentials: "omit", cache: "no-cache", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (r.status === 404) { unavailable(true); return null; }
        if (!r.ok) { throw new Error(String(r.status)); }
        return r.json();
      })
      .then(function (doc) { if (doc) { root.style.display = "inline-flex"; show(doc); } })
      .catch(function () { unavailable(false); })
      .then(function () { busy = false; });
  }

  registry.badges.push({ room: room, element: root, refresh: refresh });
  refresh();
  window.setInterval(function () { if (!document.hidden) { refresh(); } }, every * 1000);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { refresh(); } });
})();
