// The designer's rule editor: insert a field by its label, and check the rule while typing.
// Everything here is optional: without scripts the rule is checked when it is saved.
(function () {
  "use strict";

  var input = document.querySelector(".rule-input");
  if (!input) { return; }
  var picker = document.getElementById("rule-field-picker");
  var insert = document.getElementById("rule-insert");
  var status = document.getElementById("rule-check");
  var form = input.form;

  if (picker && insert) {
    insert.addEventListener("click", function () {
      var key = picker.value;
      var start = input.selectionStart || 0;
      var end = input.selectionEnd || 0;
      var before = input.value.slice(0, start);
      var after = input.value.slice(end);
      var pad = before && !/\s$/.test(before) ? " " : "";
      var inserted = pad + key + (/^\s/.test(after) ? "" : " ");
      input.value = before + inserted + after;
      var caret = (before + inserted).length;
      input.focus();
      input.setSelectionRange(caret, caret);
      check();
    });
  }

  var timer = null;
  var sent = 0;
  function check() {
    var number = ++sent;
    var body = new FormData();
    body.append("csrf_token", form.querySelector("[name=csrf_token]").value);
    body.append("revision", form.querySelector("[name=revision]").value);
    body.append("expr", input.value);
    fetch(input.getAttribute("data-check-url"), {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) { return response.json(); }).then(function (answer) {
      if (number !== sent) { return; }  // an older answer arriving late
      status.textContent = answer.message;
      status.classList.toggle("is-ok", answer.ok);
      status.classList.toggle("is-error", !answer.ok);
      input.setAttribute("aria-invalid", answer.ok ? "false" : "true");
    }).catch(function () { /* offline: the rule is checked when saved */ });
  }

  input.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(check, 300);
  });
  if (input.value) { check(); }
})();

// The schedule form shows only the inputs of the chosen due-date rule; without scripts
// every input shows and the unused ones are ignored when saved.
(function () {
  "use strict";

  var rule = document.getElementById("due_rule");
  var frequency = document.getElementById("frequency");
  if (!rule || !frequency) { return; }
  var inputs = { after_end: ["months", "day"], in_period: ["month", "day"], fixed: ["fixed_date"] };
  var all = ["months", "month", "day", "fixed_date"];

  function update() {
    if (frequency.value === "once") { rule.value = "fixed"; }
    var shown = inputs[rule.value] || all;
    all.forEach(function (id) {
      var input = document.getElementById(id);
      var box = input && input.closest(".field");
      if (box) { box.hidden = shown.indexOf(id) < 0; }
    });
  }

  rule.addEventListener("change", update);
  frequency.addEventListener("change", update);
  update();
})();
