// The report form, made quicker with JavaScript; everything also works without it:
// table rows are added by a submit button, the increment is computed when saving.
(function () {
  "use strict";

  // After a failed save the list of problems is where the eye and the keyboard go. Without
  // scripts the form's address ends in #issues, so the browser opens the page there.
  var summary = document.getElementById("issues");
  if (summary && (summary.hasAttribute("data-focus") || window.location.hash === "#issues")) {
    summary.scrollIntoView({ block: "start" });
    summary.focus({ preventScroll: true });
  }

  var form = document.querySelector(".report-form");
  var changed = false; // typed since the page was loaded or saved
  if (!form) {
    return;
  }

  // -- 本期新增: the increment of a cumulative figure, as it is typed -----------------------

  var readNumber = window.Tianbao.readNumber; // numbers.js

  function decimals(value) {
    var text = String(value);
    return text.indexOf(".") < 0 ? 0 : text.length - text.indexOf(".") - 1;
  }

  function showIncrement(input) {
    var output = document.getElementById(input.getAttribute("data-increment"));
    if (!output) {
      return;
    }
    var value = readNumber(input.value);
    if (value === null) {
      output.textContent = "—";
      return;
    }
    var base = Number(input.getAttribute("data-base") || "0");
    var places = Math.max(decimals(value), decimals(base));
    var growth = Number((value - base).toFixed(places));
    output.textContent = (growth > 0 ? "+" : "") + growth.toLocaleString(document.documentElement.lang, {
      maximumFractionDigits: places
    });
  }

  form.querySelectorAll("input[data-increment]").forEach(function (input) {
    input.addEventListener("input", function () { showIncrement(input); });
  });

  // -- 说明: open the note box as soon as a figure needs one ---------------------------------
  // The server gives each number the range that needs no note (lower than last period's
  // total, or far outside the unit's history opens the box); it still judges on saving.

  function showNoteBox(input) {
    var box = document.getElementById(input.getAttribute("data-note-box"));
    if (!box) {
      return;
    }
    var note = box.querySelector("textarea");
    var value = readNumber(input.value);
    var low = input.getAttribute("data-note-low");
    var high = input.getAttribute("data-note-high");
    var outside = value !== null && ((low !== "" && value < Number(low)) ||
                                     (high !== "" && value > Number(high)));
    var keep = box.hasAttribute("data-flagged") || (note && note.value.trim() !== "");
    box.hidden = !(outside || keep);
    box.classList.toggle("is-live", outside && !box.hasAttribute("data-flagged"));
  }

  form.querySelectorAll("input[data-note-box]").forEach(function (input) {
    input.addEventListener("input", function () { showNoteBox(input); });
    showNoteBox(input);
  });

  // -- repeating tables: add and remove rows in place --------------------------------------

  function renumber(table) {
    table.querySelectorAll("tbody[data-rows] > tr[data-row]").forEach(function (row, index) {
      var cell = row.querySelector(".row-number");
      if (cell) {
        cell.textContent = String(index + 1);
      }
    });
  }

  function rowCount(table) {
    return table.querySelectorAll("tbody[data-rows] > tr[data-row]").length;
  }

  // The next free index: the server reads rows by the index in their names, gaps allowed.
  function nextIndex(table) {
    var highest = -1;
    table.querySelectorAll("tbody[data-rows] [name]").forEach(function (input) {
      var match = /-(\d+)-[^-]+$/.exec(input.name);
      if (match) {
        highest = Math.max(highest, Number(match[1]));
      }
    });
    return highest + 1;
  }

  function updateAddButton(table) {
    var max = Number(table.getAttribute("data-max-rows") || "0");
    var button = table.querySelector("[data-add-row]");
    if (button) {
      button.disabled = max > 0 && rowCount(table) >= max;
    }
  }

  form.querySelectorAll("[data-table]").forEach(function (table) {
    var template = table.querySelector("template[data-row-template]");
    var body = table.querySelector("tbody[data-rows]");
    var add = table.querySelector("[data-add-row]");
    if (!template || !body || !add) {
      return;
    }
    add.addEventListener("click", function (event) {
      event.preventDefault();
      var index = String(nextIndex(table));
      var html = template.innerHTML.replace(/__index__/g, index);
      body.insertAdjacentHTML("beforeend", html);
      renumber(table);
      updateAddButton(table);
      var rows = body.querySelectorAll("tr[data-row]");
      var first = rows[rows.length - 1].querySelector("input, select, textarea");
      if (first) {
        first.focus();
      }
      changed = true;
    });
    body.addEventListener("click", function (event) {
      var button = event.target.closest("[data-remove-row]");
      if (!button) {
        return;
      }
      var row = button.closest("tr[data-row]");
      // Problems listed under the row go with it.
      while (row.nextElementSibling && row.nextElementSibling.classList.contains("row-issue")) {
        row.nextElementSibling.remove();
      }
      row.remove();
      renumber(table);
      updateAddButton(table);
      add.focus();
      changed = true;
    });
    updateAddButton(table);
  });

  // -- attachments: say "too large" before sending, so nothing typed is lost ----------------

  form.querySelectorAll("input[type=file][data-max-bytes]").forEach(function (input) {
    var message = input.parentElement.querySelector("[data-size-error]");
    input.addEventListener("change", function () {
      var limit = Number(input.getAttribute("data-max-bytes"));
      var file = input.files && input.files[0];
      var tooLarge = Boolean(file && file.size > limit);
      if (message) {
        message.hidden = !tooLarge;
      }
      input.setAttribute("aria-invalid", tooLarge ? "true" : "false");
      if (tooLarge) {
        input.value = "";
      }
    });
  });

  // -- drafts that save themselves -----------------------------------------------------------
  // A few seconds after a change the whole form (without files) is posted to the autosave
  // address. Until the server answers, it is also kept in this browser (localStorage), so a
  // lost connection loses nothing: it is sent when the browser is back online, or when the
  // page is opened again.

  var status = document.getElementById("autosave-status");
  var autosaveUrl = status && status.getAttribute("data-url");
  var storageKey = autosaveUrl ? "tianbao-draft:" + autosaveUrl : null;
  var timer = null;
  var sending = false;
  var DELAY = 3000;

  function say(text) {
    if (status) {
      status.textContent = text;
    }
  }

  function formPairs() {
    var pairs = [];
    new FormData(form).forEach(function (value, name) {
      if (typeof value === "string") { // files are sent with the buttons only
        pairs.push([name, value]);
      }
    });
    return pairs;
  }

  // The revision the page was showing when the draft was typed: a draft of an older
  // revision than the server's is never put into the form without asking.
  function currentRevision() {
    var field = form.querySelector("input[name=revision]");
    return Number(field && field.value ? field.value : "0") || 0;
  }

  function baseOf(draft) {
    if (typeof draft.base === "number") {
      return draft.base;
    }
    var base = 0; // drafts kept before the base was stored: the form's own revision field
    (draft.pairs || []).forEach(function (pair) {
      if (pair[0] === "revision") {
        base = Number(pair[1]) || 0;
      }
    });
    return base;
  }

  function keep(pairs) {
    try {
      window.localStorage.setItem(storageKey, JSON.stringify({
        pairs: pairs, base: currentRevision(), at: Date.now()
      }));
    } catch (ignored) { /* private mode or full: the server copy still follows */ }
  }

  function kept() {
    try {
      var text = window.localStorage.getItem(storageKey);
      return text ? JSON.parse(text) : null;
    } catch (ignored) {
      return null;
    }
  }

  function forget() {
    try {
      window.localStorage.removeItem(storageKey);
    } catch (ignored) { /* nothing kept */ }
  }

  function send(pairs) {
    if (sending) {
      return;
    }
    sending = true;
    var body = new FormData();
    pairs.forEach(function (pair) { body.append(pair[0], pair[1]); });
    fetch(autosaveUrl, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    }).then(function (answer) {
      sending = false;
      // Refused (stale, unreadable, expired), the draft stays on this device.
      if (answer.ok) {
        forget();
        var revision = form.querySelector("input[name=revision]");
        if (revision && answer.data.revision) {
          revision.value = String(answer.data.revision);
        }
        changed = false;
        say(status.getAttribute("data-saved").replace("{time}", answer.data.time));
      } else if (answer.data.code === "invalid") {
        say(status.getAttribute("data-unreadable"));
      } else {
        say(answer.data.error || "");
      }
    }).catch(function () { // offline: kept in this browser, sent when the connection is back
      sending = false;
      say(status.getAttribute("data-pending"));
    });
  }

  function autosaveNow() {
    timer = null;
    var pairs = formPairs();
    keep(pairs);
    if (navigator.onLine === false) {
      say(status.getAttribute("data-pending"));
      return;
    }
    send(pairs);
  }

  function restore(pairs) {
    var seen = {};
    pairs.forEach(function (pair) {
      var name = pair[0];
      if (name === "csrf_token" || name === "revision") {
        return;
      }
      var fields = form.querySelectorAll("[name=\"" + name.replace(/"/g, "") + "\"]");
      fields.forEach(function (field) {
        if (field.type === "checkbox" || field.type === "radio") {
          if (!seen[name]) {
            fields.forEach(function (other) { other.checked = false; });
            seen[name] = true;
          }
          if (field.value === pair[1]) {
            field.checked = true;
          }
        } else if (field.type !== "file") {
          field.value = pair[1];
        }
      });
    });
  }

  if (autosaveUrl && window.fetch && window.FormData) {
    var schedule = function () {
      if (timer) {
        window.clearTimeout(timer);
      }
      timer = window.setTimeout(autosaveNow, DELAY);
    };
    form.addEventListener("input", schedule);
    form.addEventListener("change", schedule);
    form.addEventListener("submit", function () {
      if (timer) {
        window.clearTimeout(timer);
        timer = null;
      }
      forget(); // the button sends everything
    });
    window.addEventListener("online", function () {
      var draft = kept();
      if (draft && baseOf(draft) >= currentRevision()) { // an older one waits for the unit's choice
        send(draft.pairs);
      }
    });
    var resume = function (pairs) {
      if (navigator.onLine !== false) {
        send(pairs);
      } else {
        say(status.getAttribute("data-pending"));
      }
    };
    var left = kept();
    var conflict = document.getElementById("draft-conflict");
    if (left && baseOf(left) < currentRevision() && conflict) {
      // Typed on an older version than the one saved since: the saved version stays in
      // the form unless the unit asks for this device's draft. Restored, it is saved like
      // any change, against the revision shown now (the server refuses it if that is stale).
      conflict.hidden = false;
      conflict.querySelector("[data-draft-restore]").addEventListener("click", function () {
        restore(left.pairs);
        conflict.hidden = true;
        changed = true;
        keep(formPairs()); // now based on the revision shown; sent when saved
        say(status.getAttribute("data-restored"));
      });
      conflict.querySelector("[data-draft-discard]").addEventListener("click", function () {
        forget();
        conflict.hidden = true;
      });
    } else if (left) { // typed while offline, the page closed before it could be sent
      restore(left.pairs);
      resume(left.pairs);
    }
  }

  // -- do not lose typed work by leaving the page -------------------------------------------

  form.addEventListener("input", function () { changed = true; });
  form.addEventListener("change", function () { changed = true; });
  form.addEventListener("submit", function () { changed = false; });
  window.addEventListener("beforeunload", function (event) {
    if (changed) {
      event.preventDefault();
      event.returnValue = form.getAttribute("data-leave-warning") || "";
    }
  });
})();
