/*
 * Live delivery for the demo chat. Builds every node with createElement/textContent (a
 * message is hostile input), no inline script or style. Without this script the chat still
 * works: forms post and the page reloads.
 */
(function () {
  "use strict";
  var body = document.body;
  var channel = body.getAttribute("data-channel");
  var me = body.getAttribute("data-me");
  var statusLine = document.getElementById("live-status");
  var list = document.getElementById("messages");
  var form = document.getElementById("compose");
  var live = false;
  var retry = 1000;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  function hhmm(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) { return ""; }
    var h = String(d.getUTCHours()), m = String(d.getUTCMinutes());
    return (h.length < 2 ? "0" + h : h) + ":" + (m.length < 2 ? "0" + m : m) + " UTC";
  }
  function stamp(iso) {
    var t = el("time", null, hhmm(iso));
    t.setAttribute("datetime", String(iso));
    return t;
  }

  function showMessage(ev) {
    if (!list || ev.conversation !== channel || document.getElementById(ev.id)) { return; }
    var item = el("li", "msg");
    item.id = String(ev.id);
    if (ev.kind === "police") {
      item.className += " msg-police";
      item.setAttribute("data-kind", "police");
      var label = el("p", "police-label");
      var icon = el("span", "police-icon", "\u2605");
      icon.setAttribute("aria-hidden", "true");
      label.appendChild(icon);
      label.appendChild(document.createTextNode(" " + String(ev.label || "")));
      item.appendChild(label);
      item.appendChild(el("p", "text", String(ev.text)));
      item.appendChild(stamp(ev.sent_at));
    } else {
      item.className += " msg-user" + (ev.sender === me ? " mine" : "");
      item.setAttribute("data-kind", "user");
      var who = el("p", "who");
      who.appendChild(el("span", "name", String(ev.sender_name || "")));
      who.appendChild(document.createTextNode(" "));
      who.appendChild(el("span", "handle", "@" + String(ev.sender || "")));
      who.appendChild(document.createTextNode(" "));
      who.appendChild(stamp(ev.sent_at));
      item.appendChild(who);
      item.appendChild(el("p", "text", String(ev.text)));
    }
    list.appendChild(item);
    item.scrollIntoView({ block: "nearest" });
    offerToReport(ev);
  }

  // A new author becomes someone the "Report abuse" form can name.
  function offerToReport(ev) {
    var select = document.getElementById("reported");
    if (!select || ev.kind !== "user" || !ev.sender || ev.sender === me) { return; }
    for (var i = 0; i < select.options.length; i += 1) {
      if (select.options[i].value === ev.sender) { return; }
    }
    var option = document.createElement("option");
    option.value = String(ev.sender);
    option.textContent = String(ev.sender_name || "") + " (@" + String(ev.sender) + ")";
    select.appendChild(option);
  }

  function showNotice(ev) {
    var box = document.getElementById("live-notices");
    if (!box || document.getElementById("notice-" + ev.id)) { return; }
    var section = el("section", "notice");
    section.id = "notice-" + String(ev.id);
    section.setAttribute("role", "alert");
    section.appendChild(el("strong", "notice-label", String(ev.label || "")));
    section.appendChild(el("p", "text", String(ev.text || "")));
    box.appendChild(section);
  }

  function ended(reason) {
    var box = el("p", "ended", "Your session has ended (" + String(reason || "") + "). You cannot post any more.");
    box.setAttribute("role", "alert");
    box.id = "session-ended";
    document.body.insertBefore(box, document.getElementById("main"));
    if (form) { form.hidden = true; }
  }

  function connect() {
    if (!me) { return; }
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + "/ws?c=" + encodeURIComponent(channel || ""));
    socket.addEventListener("open", function () { live = true; retry = 1000; statusLine.textContent = "Live"; body.setAttribute("data-live", "1"); });
    socket.addEventListener("message", function (msg) {
      var ev;
      try { ev = JSON.parse(msg.data); } catch (e) { return; }
      if (ev.type === "message") { showMessage(ev); }
      else if (ev.type === "notice") { showNotice(ev); }
      else if (ev.type === "ended") { live = false; ended(ev.reason); }
    });
    socket.addEventListener("close", function (event) {
      live = false;
      body.removeAttribute("data-live");
      if (event.code === 4401 || event.code === 4403 || document.getElementById("session-ended")) { return; }
      statusLine.textContent = "Reconnecting…";
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
    });
  }

  if (form) {
    form.addEventListener("submit", function (event) {
      if (!live || !window.fetch) { return; }  // no live connection: a plain post and reload
      event.preventDefault();
      var errorLine = document.getElementById("post-error");
      var text = form.querySelector("textarea");
      var button = form.querySelector("button");
      var sent = text.value;
      var data = new FormData(form);
      button.disabled = true;
      fetch(form.action, { method: "POST", body: data, credentials: "same-origin",
                           headers: { Accept: "application/json" } })
        .then(function (r) { return r.json().then(function (data) { return { ok: r.ok, status: r.status, data: data }; }); })
        .then(function (res) {
          if (res.ok) {
            if (text.value === sent) { text.value = ""; }  // not what was typed since
            errorLine.hidden = true;
          }
          else if (res.status === 401) { window.location.href = "/login"; }
          else { errorLine.textContent = String(res.data.error || "The message was not sent."); errorLine.hidden = false; }
        })
        .catch(function () { errorLine.textContent = "The message was not sent; try again."; errorLine.hidden = false; })
        .then(function () { button.disabled = false; text.focus(); });
    });
    var area = form.querySelector("textarea");
    area.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); form.requestSubmit(); }
    });
  }
  connect();
}());
