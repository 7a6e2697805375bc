/* Helpdesk live console, on top of htmx's SSE extension. No framework.
   A page opts in with [data-live="list"|"ticket"] carrying hx-ext="sse", sse-connect="/console/live?…"
   and data-live-viewer (the viewer's id); live.js keeps data-live-state ("live" | "offline") on it.
   The regions it refreshes are hidden [data-live-refresh] elements with hx-trigger="live:refresh"
   (their hx-get / hx-target say what to fetch).

   - Notices (team-changed, user-changed, ticket-changed) are debounced: a burst makes one refresh,
     at most ~1 s after the first notice.
   - Never under the user's hands: lists wait while rows are selected or the search box is being
     typed in; the ticket page waits while a property control has focus, a menu is open or an action
     is in flight, and never touches the reply/note boxes. Hidden tabs wait until shown.
   - Ticket page: a change by someone else shows a banner ("Ana edited this ticket just now").
     The composers' version moves forward only while empty, so a reply written against an older
     version still gets the server's "changed while you were writing" warning.
   - No live feed (Redis down, stream dropped): the regions refresh every 30 s until `live-ready`
     arrives again, then once more to catch up. The extension and the browser reconnect by themselves. */
(function () {
  "use strict";

  var DEBOUNCE_MS = 150, MAX_WAIT_MS = 1000, BUSY_RETRY_MS = 1000, POLL_MS = 30000, OFF_DELAY_MS = 4000;
  var NOTICES = ["team-changed", "user-changed", "ticket-changed"];
  var VERBS = {
    "ticket.status_changed": "changed the status of this ticket",
    "ticket.assigned": "changed the assignee of this ticket",
    "ticket.transferred": "transferred this ticket",
    "ticket.updated": "edited this ticket",
    "ticket.shared": "shared this ticket",
    "ticket.unshared": "stopped sharing this ticket",
    "message.replied": "replied on this ticket",
    "note.added": "added an internal note to this ticket"
  };

  var sources = typeof WeakSet === "function" ? new WeakSet() : null;
  var live = false, everLive = false, pollTimer = null, offTimer = null;
  var timer = null, firstAt = 0, paused = false;
  var numbers = [];        // list pages: tickets to highlight after the refresh
  var pendingVersion = 0;  // ticket page: newest version announced
  var others = [];         // ticket page: notices by other people since the last banner

  function $(sel) { return document.querySelector(sel); }
  function $$(sel) { return Array.prototype.slice.call(document.querySelectorAll(sel)); }
  function root() { return $("[data-live]"); }
  function kind() { var r = root(); return r ? r.getAttribute("data-live") : ""; }
  function me() { var r = root(); return r ? Number(r.getAttribute("data-live-viewer")) : 0; }

  function isTextField(el) {
    if (!el || !el.tagName) return false;
    if (el.tagName === "TEXTAREA") return true;
    return el.tagName === "INPUT" && !/^(checkbox|radio|button|submit|reset|hidden|range|color|file|image)$/i.test(el.type);
  }

  function shownVersion() {
    var h = document.getElementById("ticket-side");
    return h ? Number(h.getAttribute("data-version")) || 0 : 0;
  }

  /* ---- is the user in the middle of something a refresh would disturb? ---- */
  function busy() {
    if (document.hidden) return true;
    var active = document.activeElement;
    if (kind() === "list") {
      if ($('input[name="ticket_ids"]:checked')) return true;
      if (active && active.closest && active.closest("form.filters") && isTextField(active)) return true;
      return !!$("#results .htmx-request, #my-work .htmx-request");
    }
    var regions = "#ticket-header, #ticket-side";
    if (active && active.closest && active.closest(regions) && (isTextField(active) || active.tagName === "SELECT")) return true;
    if ($("#ticket-header details[open], #ticket-side details[open]")) return true;
    var dirty = $$("#ticket-header input, #ticket-side input").some(function (i) {
      return isTextField(i) && i.value !== i.defaultValue;
    });
    return dirty || !!$("#ticket form.htmx-request, #ticket-header .htmx-request, #ticket-side .htmx-request");
  }

  /* ---- status pill and banner ---- */
  function status(text, on, title) {
    $$("[data-live-status]").forEach(function (el) {
      el.hidden = false;
      el.textContent = text;
      el.classList.toggle("is-off", !on);
      el.title = title || "";
    });
  }

  function who(list) {
    var names = [];
    list.forEach(function (n) {
      var name = n.actor_name || "Someone";
      if (names.indexOf(name) === -1) names.push(name);
    });
    return names.length > 2 ? names.slice(0, -1).join(", ") + " and " + names[names.length - 1]
      : names.join(" and ");
  }

  /* mode: "shown" (the page was refreshed), "waiting" (the user is busy), "failed" (the refresh
     did not work, e.g. the ticket left the viewer's teams) */
  function banner(mode) {
    var el = document.getElementById("live-banner");
    if (!el || !others.length) return;
    var last = others[others.length - 1];
    var verb = others.length === 1 ? (VERBS[last.type] || "changed this ticket") : "changed this ticket";
    var text = who(others) + " " + verb + " just now";
    if (mode === "shown") {
      var draft = $$("#reply-body, #note-body").some(function (t) { return t.value.trim() !== ""; });
      text += draft ? ". The page shows it; your draft is kept — check the new activity before you send."
                    : ". The page now shows it.";
    } else if (mode === "waiting") {
      text += " — show the changes when you are ready (your typing is kept).";
    } else {
      text += " — reload to see it (copy your draft first).";
    }
    el.querySelector("[data-live-banner-text]").textContent = text;
    el.querySelector("[data-live-show]").hidden = mode !== "waiting";
    el.hidden = false;
    if (mode !== "waiting") others = [];
  }

  /* ---- refreshing ---- */
  function schedule(now) {
    var t = Date.now();
    if (!firstAt) firstAt = t;
    clearTimeout(timer);
    timer = setTimeout(run, now ? 0 : Math.max(0, Math.min(DEBOUNCE_MS, firstAt + MAX_WAIT_MS - t)));
  }

  function run(force) {
    timer = null;
    if (kind() === "ticket" && pendingVersion && pendingVersion <= shownVersion() && !others.length) {
      firstAt = 0; pendingVersion = 0; paused = false;   // already on screen (the viewer's own change)
      return;
    }
    if (force !== true && busy()) {
      if (!paused) {
        paused = true;
        if (kind() === "ticket") banner("waiting");
        else if (live) status("Live · paused", true, "New activity shows when you finish selecting or typing");
      }
      timer = setTimeout(run, BUSY_RETRY_MS);
      return;
    }
    firstAt = 0; pendingVersion = 0; paused = false;
    $$("[data-live-refresh]").forEach(function (el) { htmx.trigger(el, "live:refresh"); });
  }

  function afterRefresh() {
    if (kind() === "ticket") {
      var version = String(shownVersion());
      [["reply-body", "reply-version"], ["note-body", "note-version"]].forEach(function (pair) {
        var body = document.getElementById(pair[0]), input = document.getElementById(pair[1]);
        if (body && input && body.value.trim() === "") input.value = version;
      });
      banner("shown");
      return;
    }
    if (live) status("Live", true, "Changes by others appear here as they happen");
    var shown = numbers; numbers = [];
    setTimeout(function () {
      shown.forEach(function (n) {
        var row = document.getElementById("row-" + n);
        if (!row) return;
        row.classList.remove("is-updated");
        void row.offsetWidth;  // restart the highlight animation
        row.classList.add("is-updated");
      });
    }, 30);
  }

  function onNotice(e) {
    var n;
    try { n = JSON.parse(e.data); } catch (err) { return; }
    if (!n || typeof n !== "object") return;
    if (kind() === "ticket") {
      if (n.version && n.version <= shownVersion()) return;
      pendingVersion = Math.max(pendingVersion, n.version || 0);
      if (n.actor_id !== me()) others.push(n);
    } else if (n.number && numbers.indexOf(n.number) === -1) {
      numbers.push(n.number);
    }
    schedule(false);
  }

  /* ---- connection state ---- */
  function state(value) {
    var r = root();
    if (r) r.setAttribute("data-live-state", value);
  }

  function onReady() {
    var missed = everLive || pollTimer !== null;
    live = everLive = true;
    state("live");
    clearTimeout(offTimer);
    offTimer = null;
    if (pollTimer !== null) { clearInterval(pollTimer); pollTimer = null; }
    status("Live", true, "Changes by others appear here as they happen");
    if (missed) schedule(false);  // catch up on what happened while disconnected
  }

  function onOffline() {
    live = false;
    state("offline");
    if (pollTimer === null) pollTimer = setInterval(function () { schedule(true); }, POLL_MS);
    if (offTimer !== null) return;  // already counting (errors repeat while the extension retries)
    offTimer = setTimeout(function () {
      offTimer = null;
      if (!live) status("Updates every 30 s", false, "Live updates are unavailable; this page refreshes every 30 seconds");
    }, OFF_DELAY_MS);
  }

  document.addEventListener("htmx:sseOpen", function (e) {
    var source = e.detail && e.detail.source;
    if (!source || (sources && sources.has(source)) || source.__helpdeskLive) return;
    if (sources) sources.add(source); else source.__helpdeskLive = true;
    NOTICES.forEach(function (name) { source.addEventListener(name, onNotice); });
    source.addEventListener("live-ready", onReady);
    source.addEventListener("live-unavailable", onOffline);
  });
  document.addEventListener("htmx:sseError", onOffline);

  document.addEventListener("htmx:afterRequest", function (e) {
    var elt = e.detail && e.detail.elt;
    if (!elt || !elt.hasAttribute || !elt.hasAttribute("data-live-refresh")) return;
    if (e.detail.successful) afterRefresh();
    else if (kind() === "ticket") banner("failed");
  });

  document.addEventListener("htmx:configRequest", function (e) {
    // The ticket refresh keeps the conversation tab the address bar shows.
    if (e.detail.elt && e.detail.elt.id === "ticket-live") {
      var tab = new URLSearchParams(window.location.search).get("tab");
      if (tab) e.detail.parameters.tab = tab;
    }
  });

  document.addEventListener("click", function (e) {
    if (e.target.closest("[data-live-show]")) { clearTimeout(timer); run(true); return; }
    var dismiss = e.target.closest("[data-live-dismiss]");
    if (dismiss) { var b = dismiss.closest(".live-banner"); if (b) b.hidden = true; others = []; }
  });

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && paused) { clearTimeout(timer); run(); }
  });
})();
