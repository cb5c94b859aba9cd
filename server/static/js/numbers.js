// Reading a typed number the way the server does for the common cases: full-width digits,
// thousands separators, a unit after the number ("12家"). Anything else: not a number.
// Shared by the report form's scripts (increments, calculated fields).
(function () {
  "use strict";

  function readNumber(text) {
    var folded = (text || "").normalize("NFKC").replace(/\s+/g, "").replace(/\u2212/g, "-");
    var parts = /^([+-]?[\d.,]+)[^\d.,+-]{0,6}$/.exec(folded);
    if (!parts) {
      return null;
    }
    var number = parts[1];
    if (/^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$/.test(number)) {
      number = number.replace(/,/g, "");
    }
    return /^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(number) ? Number(number) : null;
  }

  window.Tianbao = window.Tianbao || {};
  window.Tianbao.readNumber = readNumber;
})();
