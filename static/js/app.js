/* Helpdesk — tiny helpers loaded on every page (no framework).
   - Toasts: [data-dismiss] closes its .flash; success/info toasts in #toasts fade after 6 s.
   - <details class="menu"> dropdowns close on outside click and on Escape.
   - Clicking a tr[data-href] (not on a link/button/input/label) opens it; Ctrl/⌘-click = new tab. */
(function () {
  "use strict";
  var AUTO_DISMISS_MS = 6000;

  function dismiss(el) {
    if (!el || el.classList.contains("is-leaving")) return;
    el.classList.add("is-leaving");
    setTimeout(function () { el.remove(); }, 220);
  }

  function schedule(root) {
    root.querySelectorAll(".flash-success[data-flash], .flash-info[data-flash]").forEach(function (el) {
      if (el.dataset.timer || !el.closest("#toasts")) return;
      el.dataset.timer = "1";
      var t = setTimeout(function () { dismiss(el); }, AUTO_DISMISS_MS);
      el.addEventListener("mouseenter", function () { clearTimeout(t); }, { once: true });
      el.addEventListener("focusin", function () { clearTimeout(t); }, { once: true });
    });
  }

  document.addEventListener("click", function (e) {
    var btn = e.target.closest("[data-dismiss]");
    if (btn) { dismiss(btn.closest(".flash, .toast")); return; }
    var tr = e.target.closest("tr[data-href]");
    if (tr && e.button === 0 && !e.target.closest("a, button, input, select, textarea, label, summary, [data-no-row-click]")
        && !(window.getSelection && String(window.getSelection()).length)) {
      var href = tr.getAttribute("data-href");
      if (e.metaKey || e.ctrlKey) window.open(href, "_blank", "noopener");
      else window.location.assign(href);
      return;
    }
    document.querySelectorAll("details.menu[open]").forEach(function (d) {
      if (!d.contains(e.target)) d.removeAttribute("open");
    });
  });

  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") return;
    document.querySelectorAll("details.menu[open]").forEach(function (d) {
      d.removeAttribute("open");
      var s = d.querySelector("summary");
      if (s && d.contains(document.activeElement)) s.focus();
    });
  });

  function init() {
    var toasts = document.getElementById("toasts");
    if (!toasts) return;
    schedule(toasts);
    new MutationObserver(function () { schedule(toasts); }).observe(toasts, { childList: true });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
