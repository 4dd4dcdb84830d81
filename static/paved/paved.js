// Paved's only script besides htmx: toasts fade, and HTMX errors become toasts.
(function () {
  "use strict";
  function fadeToasts(root) {
    (root || document).querySelectorAll(".toast:not([data-fading])").forEach(function (toast) {
      toast.setAttribute("data-fading", "1");
      setTimeout(function () { toast.classList.add("hide"); }, 5000);
      setTimeout(function () { toast.remove(); }, 5600);
    });
  }
  function toast(text, tone) {
    var box = document.getElementById("toasts");
    if (!box) return;
    var el = document.createElement("div");
    el.className = "toast toast-" + (tone || "info");
    el.setAttribute("role", "status");
    el.textContent = text;
    box.appendChild(el);
    fadeToasts(box);
  }
  document.addEventListener("DOMContentLoaded", function () { fadeToasts(); });
  document.addEventListener("htmx:afterSettle", function () { fadeToasts(); });
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    var text = status === 403 ? "You may not do this." : status === 404 ? "Not found." :
      status === 503 ? "Paved is catching its breath; try again shortly." : "Something went wrong (" + status + ").";
    var reason = event.detail.xhr && event.detail.xhr.getResponseHeader("X-Paved-Reason");
    toast(reason || text, "error");
  });
  document.addEventListener("htmx:sendError", function () { toast("Cannot reach Paved. Check your connection.", "error"); });
  document.body && document.body.addEventListener("paved:toast", function (event) {
    toast(event.detail.value || event.detail.text, event.detail.tone);
  });
})();
// "/" jumps to the global search box (unless you are typing somewhere already).
(function () {
  "use strict";
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    var tag = target && target.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable)) return;
    var box = document.getElementById("global-search");
    if (!box) return;
    event.preventDefault();
    box.focus();
    box.select();
  });
})();
