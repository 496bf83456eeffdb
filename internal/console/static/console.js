// Cairn console: small progressive enhancements. Every page works without
// this script.
(function () {
  "use strict";

  // The custom range's inputs show only when "Custom range" is chosen;
  // editing them chooses it.
  var range = document.getElementById("range");
  if (range) {
    var customs = document.querySelectorAll(".custom-range");
    var sync = function () {
      for (var i = 0; i < customs.length; i++) {
        customs[i].hidden = range.value !== "custom";
      }
    };
    ["start", "end"].forEach(function (id) {
      var el = document.getElementById(id);
      if (el) {
        el.addEventListener("change", function () { range.value = "custom"; sync(); });
      }
    });
    range.addEventListener("change", sync);
    sync();
  }

  // A click anywhere on an event's row opens its record (the time is the
  // row's link for the keyboard).
  document.addEventListener("click", function (ev) {
    if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey) {
      return;
    }
    var t = ev.target;
    if (t.closest("a, button, input, select, textarea")) {
      return;
    }
    var tr = t.closest("tr[data-href]");
    if (tr && window.getSelection().toString() === "") {
      window.location.href = tr.getAttribute("data-href");
    }
  });

  // Copy buttons.
  var copies = document.querySelectorAll("[data-copy]");
  for (var i = 0; i < copies.length; i++) {
    (function (btn) {
      if (!navigator.clipboard) {
        return;
      }
      btn.hidden = false;
      btn.addEventListener("click", function () {
        var src = document.getElementById(btn.getAttribute("data-copy"));
        navigator.clipboard.writeText(src.textContent).then(function () {
          var was = btn.textContent;
          btn.textContent = "Copied";
          setTimeout(function () { btn.textContent = was; }, 1500);
        });
      });
    })(copies[i]);
  }
})();
