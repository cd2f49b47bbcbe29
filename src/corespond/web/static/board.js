// The dispatch board's live feed: the server says which incident changed (server-sent
// events); the board fetches that incident's card, as this user may see it, and puts it in
// place (a new incident on top). No incident data travels on the event stream itself.
(function () {
  "use strict";
  var list = document.getElementById("incidents");
  var status = document.getElementById("live-status");
  if (!list || !window.EventSource) { return; }

  function say(text) { if (status) { status.textContent = text; } }

  function place(id, html, isNew) {
    var holder = document.createElement("div");
    holder.innerHTML = html.trim();
    var card = holder.firstElementChild;
    if (!card) { return; }
    var old = document.getElementById("incident-" + id);
    if (old) {
      // Keep a dispatcher's half-typed override: only replace a card no one is editing.
      if (old.contains(document.activeElement) && document.activeElement.tagName !== "BUTTON") { return; }
      old.replaceWith(card);
    } else {
      var empty = document.getElementById("no-incidents");
      if (empty) { empty.remove(); }
      list.insertBefore(card, list.firstChild);
      card.classList.add("arrived");
    }
    if (window.htmx) { window.htmx.process(card); }
  }

  function fetchCard(id, isNew) {
    fetch("/dispatch/incidents/" + id + "/card", { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) { if (html) { place(id, html, isNew); } });
  }

  var source = new EventSource(list.getAttribute("data-events"));
  source.onopen = function () { say("Live: new incidents appear as they arrive."); };
  source.onerror = function () { say("Reconnecting to the live feed…"); };
  source.addEventListener("incident", function (message) {
    var event = JSON.parse(message.data);
    fetchCard(event.incident, event.kind === "created");
  });
  source.addEventListener("reload", function () { window.location.reload(); });
})();
