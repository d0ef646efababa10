// copy.js: small behaviours every page shares (see CONVENTIONS.md). No
// inline code anywhere, so the CSP stays strict; everything here is
// progressive: without it the pages work, just with less help.
(function () {
  "use strict";

  // announce says text in the polite live region the layout provides.
  function announce(text) {
    var live = document.getElementById("live-status");
    if (!live) return;
    live.textContent = "";
    // A fresh node each time, so the same words are read out again.
    window.setTimeout(function () { live.textContent = text; }, 50);
  }

  // copyWithSelection is the fallback where the Clipboard API is missing
  // (plain http outside localhost): a selected off-screen textarea.
  function copyWithSelection(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "visually-hidden";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(area);
    return ok;
  }

  function copied(button) {
    var label = button.textContent;
    button.textContent = "Copied";
    announce("Copied");
    window.setTimeout(function () { button.textContent = label; }, 1500);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button.copy[data-copy]");
    if (!button) return;
    event.preventDefault();
    var text = button.getAttribute("data-copy");
    // A path (a permalink) is copied as the whole URL, to paste anywhere.
    if (text.charAt(0) === "/" && text.charAt(1) !== "/") {
      text = window.location.origin + text;
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { copied(button); }, function () {
        if (copyWithSelection(text)) copied(button); else announce("Could not copy; select the text instead");
      });
    } else if (copyWithSelection(text)) {
      copied(button);
    } else {
      announce("Could not copy; select the text instead");
    }
  });

  // localTimes gives every <time datetime> the reader's local time on hover;
  // the text stays UTC, as the data is.
  function localTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      var at = new Date(el.getAttribute("datetime"));
      if (isNaN(at.getTime())) return;
      el.title = at.toLocaleString(undefined, {
        year: "numeric", month: "short", day: "numeric",
        hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short"
      }) + " (your local time)";
    });
  }

  // Elements already focused once: a later swap must not pull the focus
  // back to an error the person has moved on from.
  var focusedErrors = typeof WeakSet === "function" ? new WeakSet() : null;

  // focusFirstError moves focus to the first [data-first-error] and scrolls
  // it into view, so an error below the fold is seen and read out.
  function focusFirstError() {
    var el = document.querySelector("[data-first-error]");
    if (!el || (focusedErrors && focusedErrors.has(el))) return;
    if (focusedErrors) focusedErrors.add(el);
    if (!el.hasAttribute("tabindex") && !/^(INPUT|SELECT|TEXTAREA|BUTTON|A)$/.test(el.tagName)) {
      el.setAttribute("tabindex", "-1");
    }
    el.focus({ preventScroll: true });
    el.scrollIntoView({ block: "center" });
  }

  function onLoad() {
    localTimes(document);
    focusFirstError();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", onLoad);
  } else {
    onLoad();
  }
  // After every htmx swap: new times to title, perhaps a new first error.
  // (An outerHTML swap detaches the event's target, so the whole document.)
  document.addEventListener("htmx:afterSettle", function () {
    localTimes(document);
    focusFirstError();
  });
})();
