/*
 * childsafe "Report abuse" button for chat and IM providers. No dependencies.
 *
 *   <script src="https://childsafe.example/static/embed.js" data-provider="ExampleChat"
 *           data-lang="en" data-audience="young_person" defer></script>
 *
 * Adds a button; clicking opens a panel with safety tips (GET /report/tips.json) and a link
 * that opens the report form in a new tab. Builds every node with createElement/textContent
 * (never markup from data) and styles through the CSSOM, so it runs under a strict host CSP
 * (no inline script or style needed). The host page's CSP must allow this origin in
 * script-src and connect-src.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__childsafeEmbed) { return; }
  window.__childsafeEmbed = true;

  var origin = new URL(script.src, window.location.href).origin;
  var lang = (script.getAttribute("data-lang") || document.documentElement.lang || "en")
    .toLowerCase().slice(0, 2) === "fr" ? "fr" : "en";
  var audiences = ["young_person", "parent_carer", "other_adult", "professional"];
  var audience = script.getAttribute("data-audience");
  if (audiences.indexOf(audience) < 0) { audience = "young_person"; }
  var provider = (script.getAttribute("data-provider") || "").slice(0, 60);

  var WORDS = {
    en: { button: "Report abuse", title: "Safety tips", close: "Close", report: "Make a report",
          newTab: "(opens in a new tab)", loading: "Loading tips…",
          failed: "Tips could not be loaded. You can still make a report.",
          danger: "If someone is in danger right now, call your emergency number." },
    fr: { button: "Signaler un abus", title: "Conseils de sécurité", close: "Fermer",
          report: "Faire un signalement", newTab: "(s’ouvre dans un nouvel onglet)",
          loading: "Chargement des conseils…",
          failed: "Les conseils n’ont pas pu être chargés. Vous pouvez quand même faire un signalement.",
          danger: "Si quelqu’un est en danger maintenant, appelez le numéro d’urgence." }
  };
  var w = WORDS[lang];

  function el(tag, styles, text) {
    var node = document.createElement(tag);
    if (styles) { for (var k in styles) { if (Object.prototype.hasOwnProperty.call(styles, k)) { node.style[k] = styles[k]; } } }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  function focusRing(node) {
    node.addEventListener("focus", function () { node.style.outline = "3px solid #f2a900"; node.style.outlineOffset = "2px"; });
    node.addEventListener("blur", function () { node.style.outline = ""; });
  }

  var reportUrl = origin + "/report?" + new URLSearchParams(
    provider ? { via: "embed", provider: provider, lang: lang } : { via: "embed", lang: lang }).toString();

  var root = el("div", { position: "fixed", right: "16px", bottom: "16px", zIndex: "2147483000",
    fontFamily: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", fontSize: "16px",
    lineHeight: "1.5", color: "#1b1f24", textAlign: "left" });
  root.setAttribute("data-childsafe", "embed");
  root.lang = lang;

  var button = el("button", { minHeight: "44px", minWidth: "44px", padding: "10px 18px",
    background: "#a4161a", color: "#ffffff", border: "2px solid #ffffff", borderRadius: "22px",
    fontSize: "1rem", fontWeight: "700", cursor: "pointer", boxShadow: "0 2px 8px rgba(0,0,0,.35)" }, w.button);
  button.type = "button";
  button.id = "childsafe-report-button";
  button.setAttribute("aria-expanded", "false");
  button.setAttribute("aria-controls", "childsafe-report-panel");
  focusRing(button);

  var panel = el("section", { display: "none", position: "absolute", right: "0", bottom: "56px",
    width: "min(360px, calc(100vw - 32px))", maxHeight: "min(70vh, 560px)", overflowY: "auto",
    background: "#ffffff", border: "1px solid #7a8591", borderRadius: "8px", padding: "12px 16px",
    boxShadow: "0 4px 16px rgba(0,0,0,.3)", boxSizing: "border-box" });
  panel.id = "childsafe-report-panel";
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-modal", "false");
  panel.setAttribute("aria-labelledby", "childsafe-report-title");

  var head = el("div", { display: "flex", justifyContent: "space-between", alignItems: "center", gap: "8px" });
  var title = el("h2", { fontSize: "1.15rem", margin: "0", color: "#1b1f24" }, w.title);
  title.id = "childsafe-report-title";
  title.tabIndex = -1;
  var close = el("button", { minHeight: "44px", minWidth: "44px", padding: "8px 12px", background: "#ffffff",
    color: "#0b5cad", border: "2px solid #0b5cad", borderRadius: "4px", fontSize: "1rem", cursor: "pointer" }, w.close);
  close.type = "button";
  focusRing(close);
  head.appendChild(title);
  head.appendChild(close);

  var danger = el("p", { margin: "8px 0", padding: "6px 8px", background: "#fff4e5",
    borderLeft: "4px solid #8a3b00", color: "#3d1a00" }, w.danger);
  var list = el("ul", { margin: "8px 0", paddingLeft: "20px" });
  var statusLine = el("p", { margin: "8px 0", color: "#4a5560" }, w.loading);
  statusLine.setAttribute("role", "status");

  var link = el("a", { display: "inline-block", minHeight: "44px", padding: "10px 18px", marginTop: "8px",
    background: "#0b5cad", color: "#ffffff", borderRadius: "4px", textDecoration: "none", fontWeight: "700" });
  link.href = reportUrl;
  link.target = "_blank";
  link.rel = "noopener noreferrer";
  link.id = "childsafe-report-link";
  link.appendChild(document.createTextNode(w.report + " "));
  var hint = el("span", { fontWeight: "400" }, w.newTab);
  link.appendChild(hint);
  focusRing(link);

  panel.appendChild(head);
  panel.appendChild(danger);
  panel.appendChild(statusLine);
  panel.appendChild(list);
  panel.appendChild(link);
  root.appendChild(panel);
  root.appendChild(button);

  var loaded = false;
  function loadTips() {
    if (loaded) { return; }
    loaded = true;
    var url = origin + "/report/tips.json?" + new URLSearchParams({ audience: audience, lang: lang }).toString();
    fetch(url, { credentials: "omit", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
      .then(function (data) {
        while (list.firstChild) { list.removeChild(list.firstChild); }
        (data.tips || []).slice(0, 20).forEach(function (tip) {
          var item = el("li", { margin: "6px 0" });
          item.appendChild(el("strong", null, String(tip.title || "")));
          item.appendChild(document.createTextNode(" " + String(tip.body || "")));
          list.appendChild(item);
        });
        statusLine.textContent = "";
        statusLine.style.display = "none";
      })
      .catch(function () { loaded = false; statusLine.textContent = w.failed; });
  }

  function open() {
    panel.style.display = "block";
    button.setAttribute("aria-expanded", "true");
    loadTips();
    title.focus();
  }
  function shut(returnFocus) {
    panel.style.display = "none";
    button.setAttribute("aria-expanded", "false");
    if (returnFocus) { button.focus(); }
  }
  button.addEventListener("click", function () {
    if (button.getAttribute("aria-expanded") === "true") { shut(false); } else { open(); }
  });
  close.addEventListener("click", function () { shut(true); });
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { event.preventDefault(); shut(true); }
  });

  function mount() { document.body.appendChild(root); }
  if (document.body) { mount(); } else { document.addEventListener("DOMContentLoaded", mount); }
}());
