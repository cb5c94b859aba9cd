// Calculated fields (整改率 and the like) recomputed as the figures they read are typed.
// The server recomputes them on saving and ignores what the browser sends, so this is
// only a preview: it follows the same meaning (empty while an input is empty or on a
// division by zero; rounded half away from zero).
(function () {
  "use strict";

  var form = document.querySelector(".report-form");
  if (!form) {
    return;
  }
  var outputs = Array.prototype.slice.call(form.querySelectorAll("input[data-formula]"));
  if (!outputs.length) {
    return;
  }

  var readNumber = window.Tianbao.readNumber; // numbers.js

  function roundHalfUp(value, places) {
    var scale = Math.pow(10, places);
    var scaled = Math.abs(value) * scale;
    var rounded = Math.round(scaled + 1e-9 * Math.max(1, scaled)) / scale;
    return value < 0 ? -rounded : rounded;
  }

  function finite(value) {
    return typeof value === "number" && isFinite(value) ? value : null;
  }

  var order = { "<": function (a, b) { return a < b; }, "<=": function (a, b) { return a <= b; },
    ">": function (a, b) { return a > b; }, ">=": function (a, b) { return a >= b; },
    "==": function (a, b) { return a === b; }, "!=": function (a, b) { return a !== b; } };

  // Evaluate the JSON tree the server renders from the parsed formula (forms.rules).
  function evaluate(node, lookup) {
    var op = node[0];
    var i, left, right, value, outcome, unknown;
    if (op === "num") { return Number(node[1]); }
    if (op === "bool") { return node[1]; }
    if (op === "field") { return lookup(node[1]); }
    if (op === "filled") { return lookup(node[1]) !== null; }
    if (op === "neg") { value = evaluate(node[1], lookup); return value === null ? null : -value; }
    if (op === "not") { value = evaluate(node[1], lookup); return typeof value === "boolean" ? !value : null; }
    if (op === "arith") {
      value = evaluate(node[1], lookup);
      for (i = 0; i < node[2].length; i += 1) {
        right = evaluate(node[2][i][1], lookup);
        if (typeof value !== "number" || typeof right !== "number") { return null; }
        switch (node[2][i][0]) {
          case "+": value += right; break;
          case "-": value -= right; break;
          case "*": value *= right; break;
          default: value = right === 0 ? null : value / right;
        }
        value = finite(value);
      }
      return value;
    }
    if (op === "cmp") {
      left = evaluate(node[1], lookup);
      unknown = false;
      for (i = 0; i < node[2].length; i += 1) {
        right = evaluate(node[2][i][1], lookup);
        if (left === null || right === null) { unknown = true; } else if (!order[node[2][i][0]](left, right)) { return false; }
        left = right;
      }
      return unknown ? null : true;
    }
    if (op === "and" || op === "or") {
      unknown = false;
      for (i = 0; i < node[1].length; i += 1) {
        outcome = evaluate(node[1][i], lookup);
        if (typeof outcome !== "boolean") { unknown = true; } else if (outcome === (op === "or")) { return outcome; }
      }
      return unknown ? null : op !== "or";
    }
    if (op === "call") {
      if (node[1] === "if") {
        outcome = evaluate(node[2][0], lookup);
        if (typeof outcome !== "boolean") { return null; }
        value = evaluate(node[2][outcome ? 1 : 2], lookup);
        return typeof value === "number" ? value : null;
      }
      var args = node[2].map(function (arg) { return evaluate(arg, lookup); });
      if (args.some(function (arg) { return typeof arg !== "number"; })) { return null; }
      switch (node[1]) {
        case "abs": return Math.abs(args[0]);
        case "min": return Math.min.apply(null, args);
        case "max": return Math.max.apply(null, args);
        case "round": return roundHalfUp(args[0], args[1]);
        default: return args.reduce(function (a, b) { return a + b; }, 0);
      }
    }
    return null;
  }

  function valueOf(name) {
    var input = form.elements[name];
    return input && typeof input.value === "string" ? readNumber(input.value) : null;
  }

  function recompute() {
    // Calculated fields may read each other: settle them in as many passes as there are.
    outputs.forEach(function () {
      outputs.forEach(function (output) {
        var names = (output.getAttribute("data-inputs") || "").split(" ").filter(Boolean);
        var empty = names.some(function (name) { return valueOf(name) === null; });
        var value = empty ? null : evaluate(JSON.parse(output.getAttribute("data-formula")),
          function (key) { return valueOf("f_" + key); });
        if (typeof value !== "number") {
          output.value = "";
          return;
        }
        var places = Number(output.getAttribute("data-places") || "2");
        output.value = String(roundHalfUp(value, places));
      });
    });
  }

  form.addEventListener("input", function (event) {
    if (event.target && event.target.getAttribute && !event.target.hasAttribute("data-formula")) {
      recompute();
    }
  });
  recompute();
}());
