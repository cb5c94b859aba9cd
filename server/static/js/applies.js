// Applicability as the form is filled in: a part that applies only after some answers
// (details after "yes", a plan after choosing "major") shows and hides as they change.
// The server computed, with its own rules, which answers make each condition hold
// (data-applies on the form); this script only looks them up. A hidden part's inputs
// are disabled, so they are not sent; without scripts every part stays visible with
// its hint, and the server leaves out what does not apply when saving.
(function () {
  "use strict";

  var form = document.querySelector(".report-form[data-applies]");
  if (!form) {
    return;
  }
  var conditions;
  try {
    conditions = JSON.parse(form.getAttribute("data-applies")).conditions || [];
  } catch (error) {
    return;
  }
  if (!conditions.length) {
    return;
  }

  function part(target) {
    return form.querySelector('[data-applies-target="' + target + '"]');
  }

  // The answer an input shows, "" when blank or when it sits in a hidden part.
  function answer(name) {
    var inputs = form.querySelectorAll('[name="' + name + '"]');
    for (var i = 0; i < inputs.length; i += 1) {
      var input = inputs[i];
      if (input.disabled) {
        return "";
      }
      if (input.type === "radio") {
        if (input.checked) {
          return input.value;
        }
      } else {
        return input.value || "";
      }
    }
    return "";
  }

  function setOff(element, off) {
    if (off) {
      element.setAttribute("data-applies-off", "");
    } else {
      element.removeAttribute("data-applies-off");
    }
    var controls = element.querySelectorAll("input, select, textarea, button");
    for (var i = 0; i < controls.length; i += 1) {
      // Only controls this script disabled are enabled again; one inside a part that is
      // off for another condition stays disabled.
      var control = controls[i];
      if (control.closest("[data-applies-off]")) {
        if (!control.disabled) {
          control.disabled = true;
          control.setAttribute("data-applies-disabled", "");
        }
      } else if (control.hasAttribute("data-applies-disabled")) {
        control.disabled = false;
        control.removeAttribute("data-applies-disabled");
      }
    }
  }

  function update() {
    // Hiding a question can hide its details in turn: repeat until nothing changes.
    for (var round = 0; round <= conditions.length; round += 1) {
      var changed = false;
      conditions.forEach(function (condition) {
        var element = part(condition.target);
        if (!element) {
          return;
        }
        var key = condition.inputs.map(answer).join("|");
        var off = condition.holds.indexOf(key) < 0;
        if (off !== element.hasAttribute("data-applies-off")) {
          setOff(element, off);
          changed = true;
        }
      });
      if (!changed) {
        return;
      }
    }
  }

  conditions.forEach(function (condition) {
    var element = part(condition.target);
    if (element) {
      setOff(element, element.hasAttribute("data-applies-off"));
    }
  });
  update();
  form.addEventListener("change", update);
  form.addEventListener("input", update);
})();
