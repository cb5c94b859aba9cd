// The designer's expression inputs (a rule, a formula, an applicability condition): insert a
// field by its label into the one last used, and check each while typing.
// Everything here is optional: without scripts they are checked when saved.
(function () {
  "use strict";

  var inputs = document.querySelectorAll(".rule-input");
  if (!inputs.length) { return; }
  var input = inputs[0];  // the input the picker inserts into: the one last focused
  var picker = document.getElementById("rule-field-picker");
  var insert = document.getElementById("rule-insert");
  var form = input.form;

  // *fixed*: the input a picker always inserts into (unit tags: the condition), else the last used
  function offer(picker, insert, fixed) {
    if (!picker || !insert) { return; }
    insert.addEventListener("click", function () {
      var into = fixed || input;
      var key = picker.value;
      var start = into.selectionStart || 0;
      var end = into.selectionEnd || 0;
      var before = into.value.slice(0, start);
      var after = into.value.slice(end);
      var pad = before && !/\s$/.test(before) ? " " : "";
      var inserted = pad + key + (/^\s/.test(after) ? "" : " ");
      into.value = before + inserted + after;
      var caret = (before + inserted).length;
      into.focus();
      into.setSelectionRange(caret, caret);
      check(into);
    });
  }
  offer(picker, insert);
  offer(document.getElementById("tag-picker"), document.getElementById("tag-insert"),
        document.querySelector(".rule-input[data-check-as=condition]"));

  var sent = {};
  function check(input) {
    var id = input.id;
    var status = document.getElementById(input.getAttribute("data-check-status"));
    var number = sent[id] = (sent[id] || 0) + 1;
    var body = new FormData();
    body.append("csrf_token", form.querySelector("[name=csrf_token]").value);
    body.append("revision", form.querySelector("[name=revision]").value);
    body.append("expr", input.value);
    body.append("as", input.getAttribute("data-check-as") || "rule");
    fetch(input.getAttribute("data-check-url"), {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) { return response.json(); }).then(function (answer) {
      if (number !== sent[id]) { return; }  // an older answer arriving late
      status.textContent = answer.message;
      status.classList.toggle("is-ok", answer.ok);
      status.classList.toggle("is-error", !answer.ok);
      input.setAttribute("aria-invalid", answer.ok ? "false" : "true");
    }).catch(function () { /* offline: the rule is checked when saved */ });
  }

  Array.prototype.forEach.call(inputs, function (each) {
    var timer = null;
    each.addEventListener("focus", function () { input = each; });
    each.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () { check(each); }, 300);
    });
    if (each.value) { check(each); }
  });
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
