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
  // Live mode of the event history: new events stream in from the
  // console's /console/stream (Server-Sent Events, the signed-in session)
  // and are prepended to the table. Pause holds them (at most maxHeld,
  // counting the rest); Live again stops the stream.
  var live = document.getElementById("live");
  if (live && window.EventSource) {
    var toggle = document.getElementById("live-toggle");
    var pauseBtn = document.getElementById("live-pause");
    var status = document.getElementById("live-status");
    var wrap = document.getElementById("events-wrap");
    var empty = document.getElementById("events-empty");
    var tbody = wrap ? wrap.querySelector("tbody") : null;
    var maxRows = 500, maxHeld = 1000;
    var es = null, paused = false, held = [], dropped = 0, count = 0;
    live.hidden = !tbody;

    var setStatus = function (text) { status.textContent = text; };
    var td = function (label, text, cls) {
      var c = document.createElement("td");
      c.setAttribute("data-label", label);
      if (cls) { c.className = cls; }
      c.textContent = text || "";
      return c;
    };
    var userOf = function (ui) {
      if (!ui) { return ""; }
      var issuer = ui.sessionContext && ui.sessionContext.sessionIssuer;
      return ui.userName || (issuer && issuer.userName) || ui.principalId || ui.type || "";
    };
    var rowOf = function (rec) {
      var tr = document.createElement("tr");
      var href = "/console/events/" + encodeURIComponent(rec.eventID || "") + "?region=" + encodeURIComponent(rec.awsRegion || "");
      tr.setAttribute("data-href", href);
      tr.className = "live-row" + (rec.errorCode ? " has-error" : "");
      var first = td("Event time", "");
      var a = document.createElement("a");
      a.href = href;
      a.className = "event-link";
      a.textContent = (rec.eventTime || "").replace("T", " ").replace("Z", "");
      first.appendChild(a);
      tr.appendChild(first);
      var res = rec.resources || [];
      var types = [], names = [];
      for (var i = 0; i < res.length; i++) {
        if (res[i].type) { types.push(res[i].type); }
        if (res[i].ARN) { names.push(res[i].ARN); }
      }
      tr.appendChild(td("User name", userOf(rec.userIdentity), "user-cell"));
      tr.appendChild(td("Event name", rec.eventName));
      tr.appendChild(td("Event source", rec.eventSource));
      tr.appendChild(td("Resource type", types.join(", ")));
      tr.appendChild(td("Resource name", names.join(", "), "wrap"));
      tr.appendChild(td("Read-only", rec.readOnly === undefined ? "" : String(rec.readOnly)));
      var err = td("Error code", "");
      if (rec.errorCode) {
        var b = document.createElement("span");
        b.className = "badge err";
        b.textContent = rec.errorCode;
        err.appendChild(b);
      }
      tr.appendChild(err);
      return tr;
    };
    var show = function (rec) {
      wrap.hidden = false;
      if (empty) { empty.hidden = true; }
      tbody.insertBefore(rowOf(rec), tbody.firstChild);
      while (tbody.rows.length > maxRows) { tbody.deleteRow(tbody.rows.length - 1); }
      count++;
    };
    var describe = function () {
      var note = live.getAttribute("data-note");
      if (paused) {
        var newest = held.length ? held[held.length - 1].eventName : "";
        setStatus("Paused: " + held.length + " new event" + (held.length === 1 ? "" : "s") + " waiting" +
          (newest ? " (newest: " + newest + ")" : "") +
          (dropped ? ", " + dropped + " more not kept (turn Live off and on, or reload, to see them in history)" : "") + ".");
      } else {
        setStatus(note + " " + count + " so far.");
      }
    };
    var stop = function (why) {
      if (es) { es.close(); es = null; }
      toggle.setAttribute("aria-pressed", "false");
      toggle.textContent = "Live";
      pauseBtn.hidden = true;
      paused = false;
      held = [];
      dropped = 0;
      setStatus(why || "");
    };
    var start = function () {
      count = 0;
      es = new EventSource(live.getAttribute("data-stream"));
      toggle.setAttribute("aria-pressed", "true");
      toggle.textContent = "Stop live";
      pauseBtn.hidden = false;
      pauseBtn.textContent = "Pause";
      setStatus("Connecting…");
      es.onopen = function () { live.setAttribute("data-open", "1"); describe(); };
      es.onmessage = function (m) {
        var rec;
        try { rec = JSON.parse(m.data); } catch (e) { return; }
        if (paused) {
          if (held.length < maxHeld) { held.push(rec); } else { dropped++; }
        } else {
          show(rec);
        }
        describe();
      };
      es.onerror = function () {
        live.removeAttribute("data-open");
        if (es && es.readyState === EventSource.CLOSED) {
          stop("Live mode stopped: the server refused the stream (signed out, not allowed, or too many streams open).");
        } else {
          setStatus("Connection lost; reconnecting… Events acknowledged meanwhile are not shown here (they are in the history).");
        }
      };
    };
    toggle.addEventListener("click", function () {
      if (es) { stop("Live mode is off."); } else { start(); }
    });
    pauseBtn.addEventListener("click", function () {
      paused = !paused;
      pauseBtn.textContent = paused ? "Resume" : "Pause";
      if (!paused) {
        for (var i = 0; i < held.length; i++) { show(held[i]); }
        held = [];
        dropped = 0;
      }
      describe();
    });
  }

  // Sessions (kept.go): a form sent after the session ended comes back
  // after signing in with what was typed. Fill it into the page's form of
  // the same action (and the same hidden fields, e.g. the trail's name);
  // never send it: the user checks it and sends it again.
  var kept = document.getElementById("kept-notice");
  if (kept) {
    fillKept(kept);
  }

  // A failed sign-in is the answer to a POST: make its history entry the
  // sign-in page's URL, so that Back (after signing in) or a reload asks
  // for the page again instead of offering to send the secret again.
  var loginError = document.getElementById("login-error");
  var loginForm = document.querySelector("form[action='/console/login']");
  if (loginError && loginForm && window.history.replaceState) {
    var lq = new URLSearchParams();
    lq.set("next", loginForm.elements.next.value);
    if (loginForm.elements.reason) {
      lq.set(loginForm.elements.reason.value, "1");
    }
    window.history.replaceState(null, "", "/console/login?" + lq.toString());
  }

  // A sign-in that must wait counts the wait down (from the seconds the
  // server gave, so the browser's clock does not matter).
  var loginWait = document.getElementById("login-wait");
  if (loginWait) {
    var waitEnd = Date.now() + Number(loginWait.getAttribute("data-secs")) * 1000;
    var unit = function (n, u) { return n === 1 ? "1 " + u : n + " " + u + "s"; };
    var tick = function () {
      var left = Math.ceil((waitEnd - Date.now()) / 1000);
      if (left <= 0) {
        loginWait.textContent = "You can try again now";
        return;
      }
      var m = Math.floor(left / 60), sec = left % 60;
      loginWait.textContent = "Try again in " + (m === 0 ? unit(sec, "second") : sec === 0 ? unit(m, "minute") : unit(m, "minute") + " " + unit(sec, "second"));
      setTimeout(tick, 1000);
    };
    setTimeout(tick, 1000);
  }

  function fillKept(notice) {
    var fields;
    try {
      fields = JSON.parse(notice.getAttribute("data-fields") || "[]");
    } catch (e) {
      return;
    }
    var values = {};
    fields.forEach(function (f) {
      (values[f[0]] = values[f[0]] || []).push(f[1]);
    });
    var action = notice.getAttribute("data-action");
    var form = Array.prototype.find.call(document.forms, function (f) {
      if ((f.getAttribute("method") || "").toLowerCase() !== "post" || new URL(f.action, location.href).pathname !== action) {
        return false;
      }
      return Array.prototype.every.call(f.querySelectorAll("input[type=hidden][name]"), function (h) {
        return h.name === "csrf" || (values[h.name] || []).indexOf(h.value) >= 0;
      });
    });
    var message = document.getElementById("kept-message");
    if (!form) {
      message.textContent = "Your session expired before your form was sent, so nothing was changed. " +
        "The form is no longer on this page: what you typed is listed below.";
      return;
    }
    var used = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      var name = el.name;
      if (!name || name === "csrf" || el.type === "hidden" || el.type === "submit" || el.type === "button" || el.type === "file") {
        return;
      }
      var vs = values[name] || [];
      if (el.type === "checkbox" || el.type === "radio") {
        el.checked = vs.indexOf(el.value) >= 0;
      } else if (el.multiple) {
        Array.prototype.forEach.call(el.options, function (o) { o.selected = vs.indexOf(o.value) >= 0; });
      } else {
        var i = used[name] || 0;
        used[name] = i + 1;
        el.value = i < vs.length ? vs[i] : "";
      }
      el.dispatchEvent(new Event("input", { bubbles: true }));
      el.dispatchEvent(new Event("change", { bubbles: true }));
    });
    message.textContent = "Your session expired before this form was sent, so nothing was changed. " +
      "What you typed is filled in below: check it and send it again.";
    form.classList.add("kept-form");
    form.setAttribute("data-kept", "1");
    // The warning goes next to the form it is about, in view.
    form.parentNode.insertBefore(notice, form);
    notice.scrollIntoView({ block: "start" });
  }
})();
