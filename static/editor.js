// The policy editor keeps its two views (the statements form and the raw
// JSON) in step without ever replacing what the admin is typing.
//
// Each change posts the whole form to the edit URL (data-sync-url), saying
// which view was edited last (the hidden "source" input); the server answers
// with the editor in which both views agree, and only the OTHER view takes
// the answer. A control the admin changed while the request was out keeps
// its value (its own change event syncs it next). The buttons that add,
// remove or move statements re-render the statements the same way and put
// the focus on the control that now stands where the admin was.
//
// Requests go one at a time, in order; syncs that pile up while one is out
// collapse into one, which reads the form when it is sent. Without this
// script the buttons post the form and the page comes back whole.
(function () {
  "use strict";

  var form = document.getElementById("policy-editor");
  if (!form) {
    return;
  }
  var syncURL = form.getAttribute("data-sync-url");
  var queue = Promise.resolve();
  var syncQueued = false;

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

  // snapshot records the value of every control, to tell later which ones
  // the admin changed while a request was out.
  function snapshot() {
    var values = {};
    controls(form).forEach(function (el) { values[el.id] = el.value; });
    return values;
  }

  function enqueue(task) {
    queue = queue.then(task, task);
    return queue;
  }

  // post sends the form (plus op, when given) and parses the editor out of
  // the answer. The server answers 200 with a notice when the raw JSON cannot be read.
  function post(op) {
    var data = new FormData(form);
    if (op) {
      data.set("op", op);
    }
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

  function say(text) {
    var box = byId("editor-messages");
    var p = document.createElement("p");
    p.setAttribute("data-testid", "editor-sync-error");
    p.textContent = text;
    box.replaceChildren(p);
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
  // so focus, selection and scroll stay. A control changed since sent
  // keeps its value. It returns false when the answer's controls are not
  // the same set (statements added or removed).
  function updateControls(viewID, answer, sent) {
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
        if (el.value !== chosen && sent[el.id] === el.value) {
          el.replaceChildren.apply(el, Array.prototype.map.call(f.options, function (o) { return document.importNode(o, true); }));
          el.value = chosen;
        }
      } else if (el.value !== f.value && sent[el.id] === el.value) {
        var focused = document.activeElement === el;
        var start = el.selectionStart, end = el.selectionEnd;
        el.value = f.value;
        if (focused && start !== null) {
          el.setSelectionRange(Math.min(start, el.value.length), Math.min(end, el.value.length));
        }
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

  // replaceStatements re-renders the statements from the answer, then puts
  // the focus on focusID (or back on the control that had it), with its
  // selection. A control typed into since sent keeps what was typed.
  function replaceStatements(answer, focusID, sent) {
    var active = document.activeElement;
    var activeID = active && active.id;
    var start = active && active.selectionStart, end = active && active.selectionEnd;
    var typed = {};
    controls(byId("statements")).forEach(function (el) {
      if (sent && el.id in sent && sent[el.id] !== el.value) {
        typed[el.id] = el.value;
      }
    });
    byId("statements").replaceWith(document.importNode(answer.querySelector("#statements"), true));
    Object.keys(typed).forEach(function (id) {
      if (byId(id)) {
        byId(id).value = typed[id];
      }
    });
    var add = answer.querySelector("#add-statement");
    if (add) {
      byId("add-statement").disabled = add.disabled;
    }
    var target = byId(focusID || activeID);
    if (target) {
      target.focus();
      if (!focusID && typeof start === "number" && target.setSelectionRange) {
        target.setSelectionRange(start, end);
      }
    }
  }

  // sync brings the view the admin did not edit to the one they did.
  function sync() {
    if (syncQueued) {
      return;
    }
    syncQueued = true;
    enqueue(function () {
      syncQueued = false;
      var sent = snapshot();
      var from = source().value;
      return post("").then(function (answer) {
        copyState(answer);
        // Only a JSON edit can change which statements there are.
        if (!updateControls("structured-view", answer, sent) && from !== "form") {
          replaceStatements(answer, "", sent);
        }
        updateControls("json-view", answer, sent);
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

  function button(op) {
    enqueue(function () {
      var sent = snapshot();
      return post(op).then(function (answer) {
        copyState(answer);
        if (answer.hasAttribute("data-json-invalid") && op !== "use-form") {
          return; // refused: the JSON has an error; the notice says so
        }
        var count = answer.querySelectorAll("#statements fieldset").length;
        replaceStatements(answer, focusAfter(op, count), null);
        sent["policy-json"] = byId("policy-json").value; // a button's answer wins in the JSON
        updateControls("json-view", answer, sent);
        source().value = "";
      }, failed);
    });
  }

  form.addEventListener("input", function (ev) {
    if (ev.target.id === "policy-json") {
      source().value = "json";
    } else if (ev.target.closest("#structured-view") && !jsonInvalid()) {
      source().value = "form";
    }
  });

  form.addEventListener("change", function (ev) {
    var inJSON = ev.target.id === "policy-json";
    var inForm = ev.target.closest("#structured-view");
    if (inJSON || (inForm && !jsonInvalid())) {
      sync();
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

  // After a refused Preview the page comes back with the first invalid
  // control marked: show it.
  var first = form.querySelector("[data-first-error]");
  if (first) {
    first.focus();
    first.scrollIntoView({ block: "center" });
  }
})();
