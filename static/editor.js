// The policy editor keeps its two views (the statements form and the raw
// JSON) in step without ever replacing what the admin is typing.
//
// Each change posts the whole form to the edit URL (data-sync-url), saying
// which view the change was made in, recorded when it was made (not when
// the request goes out); the server answers with the editor in which both
// views agree, and only the OTHER view takes the answer. A control typed
// into after the change the answer is for keeps its value; a raw JSON
// edited meanwhile has its edit merged field by field onto the answer, so
// the edits of both views apply in the order made (when the JSON cannot be
// read to merge, it is kept as typed and the admin is told). The buttons
// that add, remove or move statements re-render the statements, put back
// what was typed into them meanwhile (in the statement it was typed into,
// wherever that now stands) and keep the focus where the admin is.
//
// Requests go one at a time, in the order of the changes; a change right
// after another of the same view joins it. While any is out the form is
// aria-busy and the page's loading bar shows. Without this script the
// buttons post the form and the page comes back whole.
(function () {
  "use strict";

  var form = document.getElementById("policy-editor");
  if (!form) {
    return;
  }
  var syncURL = form.getAttribute("data-sync-url");
  var queue = Promise.resolve();
  var pending = 0; // requests queued or out
  var clock = 0; // orders the admin's typing and changes
  var touched = {}; // control id -> clock of the latest typing in it
  var waiting = []; // syncs queued and not yet sent: {from, at}
  // jsonBase is the raw JSON as the server last wrote it: what an edit of
  // the raw view started from.
  var jsonBase = document.getElementById("policy-json").value;
  var keptNotice = ""; // says which view's edit was kept, until the admin types again

  function byId(id) {
    return document.getElementById(id);
  }

  function source() {
    return byId("editor-source");
  }

  function jsonInvalid() {
    return form.hasAttribute("data-json-invalid");
  }

  // controls lists the form controls inside root that carry an id.
  function controls(root) {
    return Array.prototype.filter.call(
      root.querySelectorAll("input[id], textarea[id], select[id]"),
      function (el) { return el.type !== "hidden"; }
    );
  }

  // enqueue runs task after the ones before it. While any is queued or out
  // the form is busy: aria-busy, and the page's loading bar (body class).
  function enqueue(task) {
    pending++;
    showBusy();
    var done = function () {
      pending--;
      showBusy();
    };
    queue = queue.then(task, task).then(done, done);
    return queue;
  }

  function showBusy() {
    if (pending > 0) {
      form.setAttribute("aria-busy", "true");
      document.body.classList.add("editor-syncing");
    } else {
      form.removeAttribute("aria-busy");
      document.body.classList.remove("editor-syncing");
    }
  }

  // post sends the form (plus op, when given), saying which view the change
  // was made in (from), and parses the editor out of the answer. The server
  // answers 200 with a notice when the raw JSON cannot be read.
  function post(op, from) {
    var data = new FormData(form);
    if (op) {
      data.set("op", op);
    }
    data.set("source", from);
    var token = form.querySelector('input[name="_csrf"]');
    return fetch(syncURL, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "HX-Request": "true", "X-CSRF-Token": token ? token.value : "" }
    }).then(function (resp) {
      if (resp.status !== 200 && resp.status !== 422) {
        throw new Error("status " + resp.status);
      }
      return resp.text();
    }).then(function (html) {
      var doc = new DOMParser().parseFromString(html, "text/html");
      var answer = doc.getElementById("policy-editor");
      if (!answer) {
        throw new Error("no editor in the answer");
      }
      return answer;
    });
  }

  function notice(text, testid) {
    var p = document.createElement("p");
    p.setAttribute("data-testid", testid);
    p.textContent = text;
    return p;
  }

  function say(text) {
    byId("editor-messages").replaceChildren(notice(text, "editor-sync-error"));
  }

  function failed(err) {
    say("The other view could not be updated (" + err.message + "). What you typed is kept; Preview still reads it.");
  }

  // copyState takes the parts of the answer that belong to both views: the
  // messages, the hidden fields and whether the JSON can be read.
  function copyState(answer) {
    ["editor-messages", "json-invalid-notice", "policy-statement-error"].forEach(function (id) {
      replaceOrRemove(id, answer);
    });
    if (keptNotice) {
      byId("editor-messages").append(notice(keptNotice, "editor-kept-json"));
    }
    ["json-base", "statement-count"].forEach(function (id) {
      var fresh = answer.querySelector("#" + id);
      if (fresh) {
        byId(id).value = fresh.value;
      }
    });
    if (answer.hasAttribute("data-json-invalid")) {
      form.setAttribute("data-json-invalid", "true");
      source().value = "json";
    } else {
      form.removeAttribute("data-json-invalid");
    }
  }

  // replaceOrRemove makes the element id what the answer has: replaced,
  // inserted where the answer has it, or removed.
  function replaceOrRemove(id, answer) {
    var mine = byId(id);
    var fresh = answer.querySelector("#" + CSS.escape(id));
    if (mine && fresh) {
      mine.replaceWith(document.importNode(fresh, true));
    } else if (mine) {
      mine.remove();
    } else if (fresh) {
      var before = fresh.nextElementSibling && fresh.nextElementSibling.id ? byId(fresh.nextElementSibling.id) : null;
      var parent = fresh.parentElement && fresh.parentElement.id ? byId(fresh.parentElement.id) : null;
      var copy = document.importNode(fresh, true);
      if (before) {
        before.before(copy);
      } else if (parent) {
        parent.append(copy);
      }
    }
  }

  // updateControls brings the controls inside the view with id viewID to
  // the answer's values and error marks, in place: nothing is re-created,
  // so focus, selection and scroll stay. A control for which keep(el) holds
  // (typed into after the change the answer is for) keeps its value. It
  // returns false when the answer's controls are not the same set
  // (statements added or removed).
  function updateControls(viewID, answer, keep) {
    var view = byId(viewID);
    var freshView = answer.querySelector("#" + viewID);
    var mine = controls(view);
    var fresh = controls(freshView);
    if (mine.length !== fresh.length || mine.some(function (el, i) { return el.id !== fresh[i].id; })) {
      return false;
    }
    mine.forEach(function (el, i) {
      var f = fresh[i];
      if (el.tagName === "SELECT") {
        var chosen = f.value;
        if (el.value !== chosen && !keep(el)) {
          el.replaceChildren.apply(el, Array.prototype.map.call(f.options, function (o) { return document.importNode(o, true); }));
          el.value = chosen;
        }
      } else if (el.value !== f.value && !keep(el)) {
        setKeepingCaret(el, f.value);
      }
      ["aria-invalid", "aria-describedby", "data-first-error"].forEach(function (attr) {
        if (f.hasAttribute(attr)) {
          el.setAttribute(attr, f.getAttribute(attr));
        } else {
          el.removeAttribute(attr);
        }
      });
      var errorID = el.id + "-error";
      var freshError = answer.querySelector("#" + CSS.escape(errorID));
      if (!byId(errorID) && freshError && !(freshError.parentElement && freshError.parentElement.id)) {
        el.after(document.importNode(freshError, true));
      } else {
        replaceOrRemove(errorID, answer);
      }
    });
    return true;
  }

  // setKeepingCaret sets a control's value; when it has the focus, its
  // caret and selection stay where they were.
  function setKeepingCaret(el, value) {
    var focused = document.activeElement === el;
    var start = el.selectionStart, end = el.selectionEnd;
    el.value = value;
    if (focused && typeof start === "number" && el.setSelectionRange) {
      el.setSelectionRange(Math.min(start, value.length), Math.min(end, value.length));
    }
  }

  // typedSince lists the statement controls typed into after the edit at
  // clock at: their ids and values, to put back after a re-render.
  function typedSince(at) {
    var typed = {};
    controls(byId("statements")).forEach(function (el) {
      if (editedAfter(el, at)) {
        typed[el.id] = el.value;
      }
    });
    return typed;
  }

  // replaceStatements re-renders the statements from the answer and puts
  // back what was typed meanwhile (typed, by the ids the controls now
  // have). The focus goes to focusID; when that is stayedID (the control
  // the admin was in, by its new id), its selection stays.
  function replaceStatements(answer, typed, focusID, stayedID) {
    var active = document.activeElement;
    var start = active && active.selectionStart, end = active && active.selectionEnd;
    byId("statements").replaceWith(document.importNode(answer.querySelector("#statements"), true));
    Object.keys(typed).forEach(function (id) {
      var el = byId(id);
      if (el) {
        el.value = typed[id];
        touched[id] = clock; // still the admin's, for answers yet to come
      }
    });
    var add = answer.querySelector("#add-statement");
    if (add) {
      byId("add-statement").disabled = add.disabled;
    }
    var target = byId(focusID);
    if (target) {
      target.focus();
      if (focusID === stayedID && typeof start === "number" && target.setSelectionRange) {
        target.setSelectionRange(Math.min(start, target.value.length), Math.min(end, target.value.length));
      }
    }
  }

  // movedID is the id a statement control has after op: buttons move
  // statements, and a control's id names its place (s-{i}-{field}).
  // "" when its statement was removed.
  function movedID(op, id) {
    var m = /^s-(\d+)-(.+)$/.exec(id);
    var parts = op.split("-");
    var at = parseInt(parts[1], 10);
    if (!m || isNaN(at)) {
      return id;
    }
    var i = parseInt(m[1], 10);
    var j = i;
    if (parts[0] === "remove") {
      j = i === at ? -1 : (i > at ? i - 1 : i);
    } else if (parts[0] === "up" && (i === at || i === at - 1)) {
      j = i === at ? at - 1 : at;
    } else if (parts[0] === "down" && (i === at || i === at + 1)) {
      j = i === at ? at + 1 : at;
    }
    return j < 0 ? "" : "s-" + j + "-" + m[2];
  }

  // mergeJSON applies the admin's edit of the raw JSON (from base to mine)
  // on top of the server's newer JSON (theirs), field by field: what the
  // admin changed wins, what they left alone takes theirs. null when one
  // of them cannot be read.
  function mergeJSON(base, mine, theirs) {
    var b, m, t;
    try {
      b = JSON.parse(base); m = JSON.parse(mine); t = JSON.parse(theirs);
    } catch (e) {
      return null;
    }
    return JSON.stringify(mergeValue(b, m, t), null, 2) + "\n";
  }

  function same(a, b) {
    return JSON.stringify(a) === JSON.stringify(b);
  }

  function mergeValue(b, m, t) {
    if (same(m, b)) {
      return t;
    }
    if (same(t, b) || same(m, t)) {
      return m;
    }
    var objects = [b, m, t].every(function (v) { return v && typeof v === "object" && !Array.isArray(v); });
    var lists = [b, m, t].every(Array.isArray) && b.length === m.length && b.length === t.length;
    if (lists) {
      return m.map(function (v, i) { return mergeValue(b[i], v, t[i]); });
    }
    if (objects) {
      var out = {};
      Object.keys(m).concat(Object.keys(t)).forEach(function (k) {
        if (!(k in out)) {
          out[k] = mergeValue(b[k], m[k], t[k]);
        }
      });
      Object.keys(out).forEach(function (k) {
        if (out[k] === undefined) {
          delete out[k];
        }
      });
      return out;
    }
    return m; // both changed the same field: the admin's later edit wins
  }

  // updateJSON brings the raw view to the answer. When the admin edited it
  // after the change the answer is for, their edit is merged onto the
  // answer, so neither view's edit is lost; when that cannot be done the
  // JSON stays as typed and the admin is told.
  function updateJSON(answer, at, base) {
    var ta = byId("policy-json");
    var fresh = answer.querySelector("#policy-json").value;
    var mine = ta.value;
    updateControls("json-view", answer, function () { return true; });
    if (editedAfter(ta, at) && mine !== base && mine !== fresh && !answer.hasAttribute("data-json-invalid")) {
      var merged = mergeJSON(base, mine, fresh);
      if (merged === null) {
        // Said until the admin types again: the answers that follow must
        // not wipe it before it is read.
        keptNotice = "Both views were edited at once and the raw JSON could not be read to merge them: the JSON was kept exactly as you typed it, and the form's change made before it is not in it. Check the form.";
        byId("editor-messages").append(notice(keptNotice, "editor-kept-json"));
      } else if (merged !== mine) {
        setKeepingCaret(ta, merged);
        syncJSONWhenLeft();
      }
    } else if (answer.hasAttribute("data-json-invalid") && editedAfter(ta, at)) {
      // still being typed, and not readable yet: it stays as it is
    } else if (mine !== fresh) {
      setKeepingCaret(ta, fresh);
    }
    jsonBase = fresh;
  }

  // syncJSONWhenLeft sends the raw view once the admin leaves it (now, if
  // they already have): a merged JSON must reach the form too.
  function syncJSONWhenLeft() {
    var ta = byId("policy-json");
    var send = function () {
      if (!waiting.some(function (w) { return w.from === "json"; })) {
        sync("json");
      }
    };
    if (document.activeElement !== ta) {
      send();
      return;
    }
    ta.addEventListener("blur", send, { once: true });
  }

  // sync queues bringing the other view to the one edited (from: "form" or
  // "json"), recorded when the change happens. Changes are sent in the
  // order made; a change queued right after another of the same view joins
  // it (the request reads that view when sent).
  function sync(from) {
    var at = ++clock;
    var last = waiting[waiting.length - 1];
    if (last && last.from === from) {
      last.at = at;
      return;
    }
    var change = { from: from, at: at };
    waiting.push(change);
    enqueue(function () {
      waiting.splice(waiting.indexOf(change), 1);
      var base = from === "json" ? byId("policy-json").value : jsonBase;
      return post("", from).then(function (answer) {
        copyState(answer);
        var keep = function (el) { return editedAfter(el, change.at); };
        // Only a JSON edit can change which statements there are.
        if (!updateControls("structured-view", answer, keep) && from !== "form") {
          var active = document.activeElement;
          replaceStatements(answer, typedSince(change.at), active && active.id, active && active.id);
        }
        updateJSON(answer, change.at, base);
      }, failed);
    });
  }

  // focusAfter is the control to focus after a button: where the admin's
  // statement now is, or the next thing that makes sense.
  function focusAfter(op, count) {
    var parts = op.split("-");
    var i = parseInt(parts[1], 10);
    var firstEnabled = function (ids) {
      for (var k = 0; k < ids.length; k++) {
        var el = byId(ids[k]);
        if (el && !el.disabled) {
          return ids[k];
        }
      }
      return "add-statement";
    };
    switch (parts[0]) {
      case "add":
        return "s-" + (count - 1) + "-action";
      case "remove":
        return firstEnabled(["s-" + i + "-effect", "s-" + (i - 1) + "-effect"]);
      case "up":
        return firstEnabled(["op-up-" + (i - 1), "op-down-" + (i - 1)]);
      case "down":
        return firstEnabled(["op-down-" + (i + 1), "op-up-" + (i + 1)]);
      default:
        return "policy-json";
    }
  }

  // button applies an editor button. What the admin typed into the
  // statements while its request was out is put back into the same
  // statements (wherever they now stand), the focus stays in the control
  // they moved to, and a sync follows so the JSON says it too.
  function button(op) {
    var at = ++clock;
    enqueue(function () {
      var base = jsonBase;
      return post(op, jsonInvalid() ? "json" : "form").then(function (answer) {
        copyState(answer);
        if (answer.hasAttribute("data-json-invalid") && op !== "use-form") {
          return; // refused: the JSON has an error; the notice says so
        }
        var typed = {};
        var before = typedSince(at);
        Object.keys(before).forEach(function (id) {
          var now = movedID(op, id);
          if (now) {
            typed[now] = before[id];
          }
        });
        var active = document.activeElement;
        var stayed = active && active.closest && active.closest("#statements") && !active.hasAttribute("data-editor-op") ? movedID(op, active.id) : "";
        var count = answer.querySelectorAll("#statements fieldset").length;
        replaceStatements(answer, typed, stayed || focusAfter(op, count), stayed);
        updateJSON(answer, op === "use-form" ? clock : at, base);
        if (Object.keys(typed).length > 0) {
          sync("form");
        }
      }, failed);
    });
  }

  // editedAfter: the admin typed into el after the edit at clock at.
  function editedAfter(el, at) {
    return (touched[el.id] || 0) > at;
  }

  form.addEventListener("input", function (ev) {
    if (ev.target.id) {
      touched[ev.target.id] = ++clock;
    }
    keptNotice = "";
  });

  form.addEventListener("change", function (ev) {
    var inJSON = ev.target.id === "policy-json";
    var inForm = ev.target.closest("#structured-view");
    if (inJSON) {
      sync("json");
    } else if (inForm && !jsonInvalid()) {
      sync("form");
    }
  });

  form.addEventListener("click", function (ev) {
    var b = ev.target.closest("[data-editor-op]");
    if (!b || b.disabled) {
      return;
    }
    ev.preventDefault();
    button(b.getAttribute("data-editor-op"));
  });

  // The drift banner above the editor offers Adopt and Revert, and both
  // leave the editor: once the admin has typed here, ask first, so that
  // nothing typed is lost without a word.
  document.addEventListener("submit", function (ev) {
    if (clock === 0 || !ev.target.closest(".drift-banner")) {
      return;
    }
    if (!window.confirm("Leave the editor? What you typed here is not applied and will be lost.")) {
      ev.preventDefault();
    }
  });

  // After a refused Preview the page comes back with the first invalid
  // control marked: show it.
  var first = form.querySelector("[data-first-error]");
  if (first) {
    first.focus();
    first.scrollIntoView({ block: "center" });
  }
})();
