// Cairn console: small progressive enhancements. Every page works without
// this script.
(function () {
  "use strict";

  // wallTime is instant t as a datetime-local value in zone.
  var wallTime = function (t, zone) {
    var parts = new Intl.DateTimeFormat("en-CA", { timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit",
      day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" }).formatToParts(t);
    var p = {};
    parts.forEach(function (x) { p[x.type] = x.value; });
    return p.year + "-" + p.month + "-" + p.day + "T" + p.hour + ":" + p.minute + ":" + p.second;
  };

  // shortName is the last part of an ARN (after its last "/" or ":"), as
  // the server's event.ShortName cuts it.
  var shortName = function (arn) {
    var i = Math.max(arn.lastIndexOf("/"), arn.lastIndexOf(":"));
    return i >= 0 && i < arn.length - 1 ? arn.slice(i + 1) : arn;
  };

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
    var zone = (document.getElementById("events") || live).getAttribute("data-zone") || "UTC";
    var maxRows = 500, maxHeld = 1000;
    var es = null, paused = false, held = [], dropped = 0, count = 0;
    live.hidden = !tbody;

    var setStatus = function (text) { status.textContent = text; };
    var td = function (label, text, cls, col) {
      var c = document.createElement("td");
      c.setAttribute("data-label", label);
      if (col) { c.setAttribute("data-col", col); }
      if (cls) { c.className = cls; }
      c.textContent = text || "";
      return c;
    };
    // The resource names cell: short names, the full ARN on hover.
    var resourceCell = function (names) {
      var c = td("Resource name", "", "wrap", "rname");
      // One element holds them all: on a phone the cell is a grid of
      // label and value, and each child would be a grid item of its own.
      var list = document.createElement("span");
      list.className = "cell";
      if (names.length) { c.appendChild(list); }
      for (var i = 0; i < names.length; i++) {
        if (i) { list.appendChild(document.createTextNode(", ")); }
        var sp = document.createElement("span");
        sp.className = "res";
        sp.title = names[i];
        sp.textContent = shortName(names[i]);
        list.appendChild(sp);
      }
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
      var tm = document.createElement("time");
      tm.setAttribute("datetime", rec.eventTime || "");
      var at = Date.parse(rec.eventTime || "");
      tm.textContent = isNaN(at) || !window.Intl ? (rec.eventTime || "").replace("T", " ").replace("Z", "") :
        wallTime(new Date(at), zone).replace("T", " ");
      a.appendChild(tm);
      first.appendChild(a);
      tr.appendChild(first);
      var res = rec.resources || [];
      var types = [], names = [];
      for (var i = 0; i < res.length; i++) {
        if (res[i].type) { types.push(res[i].type); }
        if (res[i].ARN) { names.push(res[i].ARN); }
      }
      tr.appendChild(td("User name", userOf(rec.userIdentity), "user-cell", "user"));
      tr.appendChild(td("Event name", rec.eventName, "", "name"));
      tr.appendChild(td("Event source", rec.eventSource, "", "source"));
      tr.appendChild(td("Resource type", types.join(", "), "", "rtype"));
      tr.appendChild(resourceCell(names));
      tr.appendChild(td("Read-only", rec.readOnly === undefined ? "" : String(rec.readOnly), "", "readonly"));
      var err = td("Error code", "", "", "error");
      if (rec.errorCode) {
        var b = document.createElement("span");
        b.className = "badge err";
        b.textContent = rec.errorCode;
        err.appendChild(b);
      }
      tr.appendChild(err);
      tr.appendChild(td("AWS access key", (rec.userIdentity || {}).accessKeyId, "", "key"));
      tr.appendChild(td("Source IP address", rec.sourceIPAddress, "", "ip"));
      tr.appendChild(td("Event ID", rec.eventID, "wrap", "id"));
      tr.appendChild(td("AWS region", rec.awsRegion, "", "region"));
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

  // Event history's filter form and table (issue 18, area "table"): the time
  // zone choice, the Read-only true/false choice, only the parameters a
  // search uses, remembered columns, and suggestions of values seen. All of
  // it is client-side: nothing here calls the server.
  (function () {
    var store = null;
    try { store = window.localStorage; } catch (e) { store = null; }
    var load = function (k) { try { return store ? store.getItem(k) : null; } catch (e) { return null; } };
    var save = function (k, v) { try { if (store) { store.setItem(k, v); } } catch (e) { /* full or refused */ } };

    var form = document.getElementById("filters");
    var attr = document.getElementById("attr");
    var value = document.getElementById("value");
    var valueBool = document.getElementById("value-bool");
    var tz = document.getElementById("tz");
    var range = document.getElementById("range");

    // The time zone: UTC or the browser's. The choice is remembered in a
    // cookie the server reads (an IANA name, which it checks); the custom
    // range's inputs, untouched, follow the zone.
    if (tz && window.Intl) {
      var local = "";
      try { local = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { local = ""; }
      if (local && local !== "UTC") {
        var opt = null;
        for (var i = 0; i < tz.options.length; i++) {
          if (tz.options[i].value === local) { opt = tz.options[i]; }
        }
        if (!opt) {
          opt = document.createElement("option");
          opt.value = local;
          tz.appendChild(opt);
        }
        opt.textContent = "Local (" + local + ")";
      }
      tz.addEventListener("change", function () {
        ["start", "end"].forEach(function (id) {
          var el = document.getElementById(id);
          if (!el || !el.value || el.value !== el.defaultValue) { return; }
          var ms = Date.parse(el.getAttribute("data-utc") || "");
          if (!isNaN(ms)) {
            el.value = wallTime(new Date(ms), tz.value);
            el.defaultValue = el.value;
          }
        });
        var names = document.querySelectorAll("#filters .zone-name");
        for (var j = 0; j < names.length; j++) { names[j].textContent = "(" + tz.value + ")"; }
        // Remembered when chosen (not from a link's zone).
        document.cookie = "cairn_tz=" + encodeURIComponent(tz.value) + "; path=/console; max-age=31536000; samesite=strict" +
          (window.location.protocol === "https:" ? "; secure" : "");
      });
    }

    // Read-only takes true or false: a choice, not free text.
    var hint = document.getElementById("value-hint");
    if (attr && value && valueBool) {
      var textField = document.getElementById("value-text");
      var boolField = document.getElementById("value-choice");
      attr.addEventListener("change", function () {
        var isBool = attr.value === "ReadOnly";
        textField.hidden = isBool;
        value.disabled = isBool;
        boolField.hidden = !isBool;
        valueBool.disabled = !isBool;
        value.setAttribute("list", "seen-" + attr.value);
        if (hint) {
          hint.hidden = true;
          value.removeAttribute("aria-invalid");
        }
      });
      value.addEventListener("input", function () {
        if (hint) { hint.hidden = true; value.removeAttribute("aria-invalid"); }
      });
    }

    // Only what the search uses goes in the URL: no dates for a preset, no
    // zone for UTC or a preset (the cookie has it), no attribute without a
    // value.
    if (form && range) {
      form.addEventListener("submit", function () {
        var preset = range.value !== "custom";
        ["start", "end"].forEach(function (id) {
          var el = document.getElementById(id);
          if (el && preset) { el.disabled = true; }
        });
        if (tz && (preset || tz.value === "UTC")) { tz.disabled = true; }
        if (value && !value.disabled && value.value.trim() === "") {
          value.disabled = true;
          if (attr) { attr.disabled = true; }
        }
      });
      // Back to a page whose fields were disabled on the way out.
      window.addEventListener("pageshow", function () {
        var els = form.querySelectorAll("[disabled]");
        for (var i = 0; i < els.length; i++) {
          if (els[i] !== value && els[i] !== valueBool) { els[i].disabled = false; }
        }
        if (attr && value && valueBool) {
          value.disabled = attr.value === "ReadOnly";
          valueBool.disabled = attr.value !== "ReadOnly";
        }
      });
    }

    // The columns the user chooses, remembered in this browser.
    var table = document.getElementById("events");
    var chooser = document.getElementById("columns");
    if (table && chooser) {
      var colsKey = "cairn.events.columns";
      var saved = load(colsKey);
      if (saved !== null && /^[a-z ]*$/.test(saved)) { table.setAttribute("data-cols", saved); }
      var boxes = chooser.querySelectorAll("input[type=checkbox]");
      var cols = (table.getAttribute("data-cols") || "").split(" ");
      for (var b = 0; b < boxes.length; b++) {
        boxes[b].checked = cols.indexOf(boxes[b].value) >= 0;
        boxes[b].addEventListener("change", function () {
          var on = [];
          for (var k = 0; k < boxes.length; k++) {
            if (boxes[k].checked) { on.push(boxes[k].value); }
          }
          table.setAttribute("data-cols", on.join(" "));
          save(colsKey, on.join(" "));
        });
      }
      chooser.hidden = false;
    }

    // Suggestions: the values of the events this user has been shown, per
    // lookup attribute, kept in this browser (per signed-in identity, removed
    // on sign-out), offered by each attribute's <datalist>.
    var who = document.querySelector(".who .user");
    var seenKey = who ? "cairn.events.seen." + who.getAttribute("title") : "";
    var logout = document.querySelector("form[action='/console/logout']");
    if (logout && store) {
      logout.addEventListener("submit", function () {
        try {
          for (var i = store.length - 1; i >= 0; i--) {
            var k = store.key(i);
            if (k && k.indexOf("cairn.events.seen.") === 0) { store.removeItem(k); }
          }
        } catch (e) { /* refused */ }
      });
    }
    if (seenKey && form) {
      var maxSeen = 100;
      var seen = {};
      try { seen = JSON.parse(load(seenKey) || "{}") || {}; } catch (e) { seen = {}; }
      var note = function (attrKey, v) {
        v = (v || "").trim();
        if (!v) { return; }
        var list = Array.isArray(seen[attrKey]) ? seen[attrKey] : [];
        var at = list.indexOf(v);
        if (at >= 0) { list.splice(at, 1); }
        list.unshift(v);
        seen[attrKey] = list.slice(0, maxSeen);
      };
      var byCol = { user: "Username", name: "EventName", source: "EventSource", key: "AccessKeyId", id: "EventId" };
      var rows = table ? table.querySelectorAll("tbody tr") : [];
      for (var r = rows.length - 1; r >= 0; r--) {
        var cells = rows[r].querySelectorAll("td[data-col]");
        for (var c = 0; c < cells.length; c++) {
          var col = cells[c].getAttribute("data-col");
          if (byCol[col]) {
            note(byCol[col], cells[c].textContent);
          } else if (col === "rtype") {
            cells[c].textContent.split(", ").forEach(function (v) { note("ResourceType", v); });
          } else if (col === "rname") {
            var res = cells[c].querySelectorAll(".res");
            for (var x = 0; x < res.length; x++) {
              note("ResourceName", res[x].getAttribute("title"));
              note("ResourceName", res[x].textContent);
            }
          }
        }
      }
      if (rows.length) { save(seenKey, JSON.stringify(seen)); }
      Object.keys(seen).forEach(function (attrKey) {
        var dl = document.getElementById("seen-" + attrKey);
        if (!dl || !Array.isArray(seen[attrKey])) { return; }
        seen[attrKey].forEach(function (v) {
          var o = document.createElement("option");
          o.value = v;
          dl.appendChild(o);
        });
      });
    }
  })();
})();

// Trails: the advanced event selector builder. It draws the selectors of
// the JSON editor (#advanced) as rows of field, operator and values, and
// writes every change back to the JSON, which stays the form's value: the
// page works without this script, and the two never disagree. Template
// links fill the editor without leaving the page.
(function () {
  "use strict";
  var box = document.getElementById("selector-builder");
  var text = document.getElementById("advanced");
  if (!box || !text) { return; }
  var spec;
  try { spec = JSON.parse(box.getAttribute("data-spec")); } catch (e) { return; }
  var OPS = ["Equals", "StartsWith", "EndsWith", "NotEquals", "NotStartsWith", "NotEndsWith"];
  var opsOf = {};
  spec.fields.forEach(function (f) { opsOf[f.field] = f.operators; });
  var model = [];
  var uid = 0;

  function el(tag, attrs, kids) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") { e.textContent = attrs[k]; } else { e.setAttribute(k, attrs[k]); }
    });
    (kids || []).forEach(function (k) { e.appendChild(k); });
    return e;
  }

  // fromJSON turns the API's selectors into the builder's rows; null when
  // the text is not an array of selectors.
  function fromJSON(s) {
    var v;
    if (s.trim() === "") { return []; }
    try { v = JSON.parse(s); } catch (e) { return null; }
    if (!Array.isArray(v)) { return null; }
    var out = [];
    for (var i = 0; i < v.length; i++) {
      var sel = v[i];
      if (!sel || typeof sel !== "object") { return null; }
      var rows = [];
      (Array.isArray(sel.FieldSelectors) ? sel.FieldSelectors : []).forEach(function (fs) {
        OPS.forEach(function (op) {
          if (Array.isArray(fs[op])) { rows.push({ field: fs.Field || "", op: op, values: fs[op].join(", ") }); }
        });
      });
      out.push({ name: sel.Name || "", rows: rows });
    }
    return out;
  }

  // toJSON writes the rows as the API's selectors: one field selector per
  // field, each operator's values split at commas.
  function toJSON() {
    var out = model.map(function (sel) {
      var byField = {}, order = [];
      sel.rows.forEach(function (r) {
        if (!r.field) { return; }
        if (!byField[r.field]) { byField[r.field] = { Field: r.field }; order.push(r.field); }
        var vals = r.values.split(",").map(function (x) { return x.trim(); }).filter(function (x) { return x !== ""; });
        byField[r.field][r.op] = (byField[r.field][r.op] || []).concat(vals);
      });
      var o = {};
      if (sel.name) { o.Name = sel.name; }
      o.FieldSelectors = order.map(function (f) { return byField[f]; });
      return o;
    });
    return JSON.stringify(out, null, 2);
  }

  function write() { text.value = toJSON(); }

  function select(id, options, value, onchange) {
    var s = el("select", { id: id });
    options.forEach(function (o) {
      var opt = el("option", { value: o, text: o });
      if (o === value) { opt.selected = true; }
      s.appendChild(opt);
    });
    s.addEventListener("change", function () { onchange(s.value); });
    return s;
  }

  function field(label, input, cls) {
    return el("div", { "class": "field " + (cls || "") }, [el("label", { "for": input.id, text: label }), input]);
  }

  function row(sel, r, n) {
    var id = "b" + (uid++);
    // A field or operator the API does not allow stays as the JSON has it
    // (the API's refusal then says why), so drawing never changes meaning.
    var fields = spec.fields.map(function (f) { return f.field; });
    if (fields.indexOf(r.field) < 0) { fields = fields.concat([r.field]); }
    var ops = opsOf[r.field] || OPS;
    if (ops.indexOf(r.op) < 0) { ops = ops.concat([r.op]); }
    var fs = select(id + "-f", fields, r.field, function (v) {
      r.field = v;
      var allowed = opsOf[v] || OPS;
      if (allowed.indexOf(r.op) < 0) { r.op = allowed[0]; }
      write(); draw();
    });
    var os = select(id + "-o", ops, r.op, function (v) { r.op = v; write(); });
    var vals = el("input", { id: id + "-v", value: r.values, spellcheck: "false", placeholder: "value, value", list: "sugg-" + r.field.replace(/\W/g, "_") });
    vals.addEventListener("input", function () { r.values = vals.value; write(); });
    var rm = el("button", { type: "button", "class": "link", text: "Remove", "aria-label": "Remove condition " + n });
    rm.addEventListener("click", function () { sel.rows.splice(sel.rows.indexOf(r), 1); write(); draw(); });
    return el("div", { "class": "builder-row" }, [field("Field", fs), field("Operator", os), field("Values", vals, "grow"),
      el("div", { "class": "field actions" }, [rm])]);
  }

  function draw() {
    box.textContent = "";
    Object.keys(spec.suggest).forEach(function (f) {
      var dl = el("datalist", { id: "sugg-" + f.replace(/\W/g, "_") });
      spec.suggest[f].forEach(function (v) { dl.appendChild(el("option", { value: v })); });
      box.appendChild(dl);
    });
    box.appendChild(el("p", { "class": "hint", text: "Builder: each selector logs the events that meet all its conditions; the trail logs what any selector logs. Fields and operators are those CloudTrail allows." }));
    model.forEach(function (sel, i) {
      var id = "b" + (uid++);
      var name = el("input", { id: id + "-name", value: sel.name, spellcheck: "false" });
      name.addEventListener("input", function () { sel.name = name.value; write(); });
      var rows = el("div", { "class": "builder-rows" });
      sel.rows.forEach(function (r, j) { rows.appendChild(row(sel, r, j + 1)); });
      var add = el("button", { type: "button", text: "Add condition", "class": "add-condition" });
      add.addEventListener("click", function () { sel.rows.push({ field: "eventCategory", op: "Equals", values: "" }); write(); draw(); });
      var rm = el("button", { type: "button", "class": "link", text: "Remove selector " + (i + 1) });
      rm.addEventListener("click", function () { model.splice(i, 1); write(); draw(); });
      box.appendChild(el("fieldset", { "class": "builder-sel" }, [el("legend", { text: "Selector " + (i + 1) }),
        field("Name", name), rows, el("div", { "class": "actions" }, [add, rm])]));
    });
    var addSel = el("button", { type: "button", id: "add-selector", text: "Add selector" });
    addSel.addEventListener("click", function () {
      model.push({ name: "", rows: [{ field: "eventCategory", op: "Equals", values: "Management" }] });
      write(); draw();
    });
    box.appendChild(el("div", { "class": "actions" }, [addSel]));
    box.appendChild(el("p", { "class": "hint builder-state", id: "builder-state", role: "status" }));
  }

  function load() {
    var m = fromJSON(text.value);
    var state = document.getElementById("builder-state");
    if (m === null) {
      if (state) { state.textContent = "The JSON below is not a valid list of selectors; the builder follows it again once it is."; }
      return;
    }
    model = m;
    draw();
  }

  text.addEventListener("input", load);
  var links = document.querySelectorAll("a[data-template]");
  for (var i = 0; i < links.length; i++) {
    links[i].addEventListener("click", function (ev) {
      ev.preventDefault();
      var a = ev.currentTarget;
      text.value = a.getAttribute("data-template");
      var note = document.getElementById("template-note");
      if (note) {
        document.getElementById("template-name").textContent = a.getAttribute("data-title");
        note.hidden = false;
      }
      load();
      box.scrollIntoView({ block: "start" });
    });
  }
  box.hidden = false;
  load();
})();

// Lake: a running query's page looks again by itself, waiting longer each
// time (the server says how long: 1, 2, 4… up to 10 seconds), and
// replaces itself in the history so that Back skips the looks. The store
// chosen in the editor replaces the ID after FROM.
(function () {
  var status = document.getElementById("query-status");
  if (status && status.getAttribute("data-poll")) {
    var wait = parseInt(status.getAttribute("data-wait"), 10) || 1;
    setTimeout(function () {
      if (!document.hidden) {
        location.replace(status.getAttribute("data-poll"));
        return;
      }
      // A hidden tab looks again when it is shown.
      document.addEventListener("visibilitychange", function () {
        if (!document.hidden) location.replace(status.getAttribute("data-poll"));
      }, { once: true });
    }, wait * 1000);
  }
  var store = document.getElementById("store");
  var sql = document.getElementById("sql");
  if (!store || !sql) return;
  // A refused statement: the cursor goes where the error says (line:column).
  var err = document.getElementById("sql-error");
  var at = err && /line (\d+):(\d+)/.exec(err.textContent);
  if (at) {
    var lines = sql.value.split("\n"), line = parseInt(at[1], 10), off = 0;
    for (var l = 0; l < line - 1 && l < lines.length; l++) off += lines[l].length + 1;
    off = Math.min(off + parseInt(at[2], 10) - 1, sql.value.length);
    sql.focus();
    sql.setSelectionRange(off, off);
  }
  var current = store.value;
  store.addEventListener("change", function () {
    var next = store.value;
    var text = sql.value;
    if (current && text.indexOf(current) >= 0) {
      text = text.split(current).join(next);
    } else {
      text = text.replace(/(\bFROM\s+)(\$EDS_ID|[A-Za-z0-9:\/_-]+)/i, function (m, from) { return from + next; });
    }
    sql.value = text;
    current = next;
    // The sample links fill the editor for the chosen store.
    var links = document.querySelectorAll("#samples a.sample");
    for (var i = 0; i < links.length; i++) {
      var u = new URL(links[i].href);
      u.searchParams.set("store", next);
      links[i].href = u.pathname + u.search + u.hash;
    }
  });
})();
