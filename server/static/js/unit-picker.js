// The unit picker: while someone types in a field marked data-unit-picker, ask the server
// for the units whose code, name or pinyin initials contain the text and offer them in the
// field's <datalist>. Without this script the field still works: the server resolves what
// was typed (code in any case, name or initials) and asks back when it is ambiguous.
(function () {
  "use strict";
  function attach(input) {
    var list = document.getElementById(input.getAttribute("list"));
    if (!list) { return; }
    var timer = null;
    var asked = null;
    function fill(units) {
      list.textContent = "";
      units.forEach(function (unit) {
        var option = document.createElement("option");
        option.value = unit.code;
        option.label = unit.name + " · " + unit.code;
        option.textContent = unit.name;
        list.appendChild(option);
      });
    }
    function ask() {
      var text = input.value.trim();
      if (text === asked) { return; }
      asked = text;
      var url = input.getAttribute("data-unit-picker") + "?q=" + encodeURIComponent(text);
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : []; })
        .then(function (units) { if (asked === text) { fill(units); } })
        .catch(function () { /* offline: the server resolves the text on submit */ });
    }
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(ask, 150);
    });
    input.addEventListener("focus", ask);
  }
  document.querySelectorAll("input[data-unit-picker]").forEach(attach);
})();
