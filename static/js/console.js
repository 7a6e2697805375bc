/* Helpdesk console — keyboard shortcuts, clickable rows, bulk selection. No framework.
   Shortcuts (ignored while typing in a field):
     ?  help dialog        /  focus [data-shortcut-focus]     g m  go to My Work
     j/k  move row cursor  Enter  open row   x  select row    r / n  reply / note box
   Rows: tr[data-href] inside #main (row clicks: app.js). Bulk: input[name=ticket_ids] + [data-select-all] + .bulkbar
   ([data-selected-count] inside shows the count). Works after htmx swaps (delegated events). */
(function () {
  "use strict";

  var pendingG = false, gTimer = null;

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $$(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

  function isTyping(el) {
    if (!el) return false;
    var tag = el.tagName;
    if (tag === "INPUT") return !/^(checkbox|radio|button|submit|reset|range|color|file|image)$/i.test(el.type);
    return tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }

  /* ---- help dialog ---- */
  function dialog() { return document.getElementById("shortcuts-dialog"); }
  function toggleHelp() {
    var d = dialog();
    if (!d) return;
    if (d.open) d.close();
    else if (typeof d.showModal === "function") d.showModal();
    else d.setAttribute("open", "");
  }

  /* ---- row cursor ---- */
  function rows() { return $$("#main table tr[data-href]"); }
  function moveCursor(step) {
    var list = rows();
    if (!list.length) return;
    var cur = list.findIndex(function (r) { return r.classList.contains("is-cursor"); });
    var next = cur === -1 ? (step > 0 ? 0 : list.length - 1) : Math.min(list.length - 1, Math.max(0, cur + step));
    if (cur !== -1) list[cur].classList.remove("is-cursor");
    list[next].classList.add("is-cursor");
    list[next].scrollIntoView({ block: "nearest" });
  }
  function cursorRow() { return $("#main table tr[data-href].is-cursor"); }

  function go(href, newTab) {
    if (!href) return;
    if (newTab) window.open(href, "_blank", "noopener");
    else window.location.assign(href);
  }

  function focusEl(el) {
    if (!el) return false;
    el.focus();
    if (el.scrollIntoView) el.scrollIntoView({ block: "center", behavior: "smooth" });
    return true;
  }

  /* ---- bulk selection ---- */
  function syncBulk() {
    var boxes = $$('input[name="ticket_ids"]');
    var checked = boxes.filter(function (b) { return b.checked; });
    boxes.forEach(function (b) {
      var tr = b.closest("tr");
      if (tr) tr.classList.toggle("is-selected", b.checked);
    });
    $$(".bulkbar").forEach(function (bar) {
      if (checked.length) bar.removeAttribute("hidden");
      else bar.setAttribute("hidden", "");
    });
    $$("[data-selected-count]").forEach(function (el) { el.textContent = String(checked.length); });
    $$("[data-select-all]").forEach(function (all) {
      all.checked = boxes.length > 0 && checked.length === boxes.length;
      all.indeterminate = checked.length > 0 && checked.length < boxes.length;
    });
  }

  document.addEventListener("change", function (e) {
    var t = e.target;
    if (t.matches && t.matches("[data-select-all]")) {
      $$('input[name="ticket_ids"]').forEach(function (b) { if (!b.disabled) b.checked = t.checked; });
      syncBulk();
    } else if (t.matches && t.matches('input[name="ticket_ids"]')) {
      syncBulk();
    }
  });

  /* ---- help dialog buttons ---- */
  document.addEventListener("click", function (e) {
    if (e.target.closest("[data-shortcuts-open]")) {
      var menu = e.target.closest("details[open]");
      if (menu) menu.removeAttribute("open");
      toggleHelp();
      return;
    }
    /* row clicks (tr[data-href]) are handled in app.js for portal and console alike */
  });

  /* ---- keyboard ---- */
  document.addEventListener("keydown", function (e) {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
    var d = dialog();
    if (e.key === "Escape") {
      if (d && d.open) { d.close(); e.preventDefault(); }
      return;
    }
    if (isTyping(e.target)) return;
    if (d && d.open && e.key !== "?") return;

    if (pendingG) {
      pendingG = false; clearTimeout(gTimer);
      if (e.key === "m") { e.preventDefault(); go("/console"); }
      return;
    }

    switch (e.key) {
      case "?": e.preventDefault(); toggleHelp(); break;
      case "/":
        if (focusEl($("[data-shortcut-focus]"))) e.preventDefault();
        break;
      case "g":
        pendingG = true;
        gTimer = setTimeout(function () { pendingG = false; }, 1200);
        break;
      case "j": e.preventDefault(); moveCursor(1); break;
      case "k": e.preventDefault(); moveCursor(-1); break;
      case "Enter": {
        var tag = e.target && e.target.tagName;
        if (tag === "A" || tag === "BUTTON" || tag === "SUMMARY") return; /* native activation */
        var row = cursorRow();
        if (row) { e.preventDefault(); go(row.getAttribute("data-href")); }
        break;
      }
      case "x": {
        var r = cursorRow();
        var box = r && r.querySelector('input[name="ticket_ids"]');
        if (box && !box.disabled) {
          e.preventDefault();
          box.checked = !box.checked;
          box.dispatchEvent(new Event("change", { bubbles: true }));
        }
        break;
      }
      case "r": if (focusEl(document.getElementById("reply-body"))) e.preventDefault(); break;
      case "n": if (focusEl(document.getElementById("note-body"))) e.preventDefault(); break;
    }
  });

  /* keep state right after htmx swaps (new rows, new bulkbar) */
  document.addEventListener("htmx:afterSettle", syncBulk);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", syncBulk);
  else syncBulk();
})();
