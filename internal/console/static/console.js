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
