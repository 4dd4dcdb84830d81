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
// Entity pickers: a text input (role=combobox) whose listbox htmx fills from the catalog.
// Arrow keys move through the options, Enter or a click picks one, Escape closes the list.
// Without JavaScript the input still takes a typed entity reference, validated on the server.
(function () {
  "use strict";
  function listOf(input) { return document.getElementById(input.getAttribute("aria-controls")); }
  function options(list) { return Array.prototype.slice.call(list.querySelectorAll('[role="option"]:not([aria-disabled="true"])')); }
  function open(input, list) { list.hidden = false; input.setAttribute("aria-expanded", "true"); }
  function close(input, list) {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }
  function activate(input, list, index) {
    var all = options(list);
    all.forEach(function (opt, i) { opt.setAttribute("aria-selected", i === index ? "true" : "false"); });
    if (all[index]) {
      input.setAttribute("aria-activedescendant", all[index].id);
      all[index].scrollIntoView({ block: "nearest" });
    }
  }
  function pick(input, list, option) {
    var value = option.getAttribute("data-value");
    var targetId = input.getAttribute("data-combobox-append");
    var target = targetId ? document.getElementById(targetId) : input;
    if (targetId) {  // MultiEntityPicker: append one reference per line
      var lines = target.value.split("\n").map(function (l) { return l.trim(); }).filter(Boolean);
      if (lines.indexOf(value) === -1) lines.push(value);
      target.value = lines.join("\n");
      input.value = "";
    } else {
      input.value = value;
    }
    close(input, list);
    target.dispatchEvent(new Event("change", { bubbles: true }));  // server-side validation
  }
  document.addEventListener("htmx:afterSwap", function (event) {
    var list = event.detail.target;
    if (!list || list.getAttribute("role") !== "listbox") return;
    var input = document.querySelector('[aria-controls="' + list.id + '"]');
    if (input && document.activeElement === input) open(input, list);
  });
  document.addEventListener("keydown", function (event) {
    var input = event.target;
    if (!input || !input.hasAttribute || !input.hasAttribute("data-combobox")) return;
    var list = listOf(input);
    if (!list) return;
    var all = options(list);
    var current = all.findIndex(function (o) { return o.getAttribute("aria-selected") === "true"; });
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (list.hidden) open(input, list);
      var step = event.key === "ArrowDown" ? 1 : -1;
      activate(input, list, Math.max(0, Math.min(all.length - 1, current + step)));
    } else if (event.key === "Enter" && !list.hidden && current >= 0) {
      event.preventDefault();  // pick, do not submit the form
      pick(input, list, all[current]);
    } else if (event.key === "Escape" && !list.hidden) {
      event.preventDefault();
      close(input, list);
    }
  });
  // mousedown (not click) so the pick happens before the input's blur closes the list
  document.addEventListener("mousedown", function (event) {
    var option = event.target.closest && event.target.closest('[role="option"][data-value]');
    if (!option) return;
    var list = option.closest('[role="listbox"]');
    var input = list && document.querySelector('[aria-controls="' + list.id + '"]');
    if (!input) return;
    event.preventDefault();
    pick(input, list, option);
  });
  document.addEventListener("focusout", function (event) {
    var input = event.target;
    if (!input || !input.hasAttribute || !input.hasAttribute("data-combobox")) return;
    var list = listOf(input);
    if (list) setTimeout(function () { close(input, list); }, 150);
  });
  document.addEventListener("focusin", function (event) {
    var input = event.target;
    if (!input || !input.hasAttribute || !input.hasAttribute("data-combobox")) return;
    var list = listOf(input);
    if (list && list.children.length) open(input, list);
  });
})();
