// Entraide console: the little script the pages use. Nothing here is
// needed to read or act: every page works without it.
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  // Forms that undo or end something ask first.
  document.querySelectorAll("form[data-confirm]").forEach(function (f) {
    f.addEventListener("submit", function (e) {
      if (!window.confirm(f.getAttribute("data-confirm"))) {
        e.preventDefault();
      }
    });
  });

  // A button is pressed once: a slow answer does not send a step twice.
  document.querySelectorAll("form[method=post]").forEach(function (f) {
    f.addEventListener("submit", function (e) {
      if (e.defaultPrevented) {
        return;
      }
      window.setTimeout(function () {
        f.querySelectorAll("button[type=submit]").forEach(function (b) {
          b.disabled = true;
        });
      }, 0);
    });
  });

  // The overview refreshes itself every minute while it is shown and no
  // one is typing: deadlines and the federation's state move.
  if (document.body.getAttribute("data-page") === "overview") {
    window.setInterval(function () {
      var a = document.activeElement;
      var typing = a && (a.tagName === "INPUT" || a.tagName === "TEXTAREA" || a.tagName === "SELECT");
      if (!document.hidden && !typing) {
        window.location.reload();
      }
    }, 60000);
  }
});
