// The units behind a large total are fetched when it is opened, a page at a time; without
// this file the link beside it opens them on a page of their own.
(function () {
  "use strict";

  function load(box, url) {
    var sep = url.indexOf("?") === -1 ? "?" : "&";
    return fetch(url + sep + "fragment=1", { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.text();
      })
      .then(function (html) {
        box.insertAdjacentHTML("beforeend", html);
        var more = box.querySelector("a.cons-parts-more:not([data-bound])");
        if (more) {
          more.setAttribute("data-bound", "");
          more.addEventListener("click", function (event) {
            event.preventDefault();
            var next = more.getAttribute("href").replace(/([?&])fragment=1&?/, "$1");
            more.parentNode.remove();
            load(box, next);
          });
        }
      });
  }

  document.querySelectorAll("[data-parts-url]").forEach(function (box) {
    var details = box.closest("details");
    if (!details) { return; }
    details.addEventListener("toggle", function () {
      if (!details.open || box.hasAttribute("data-loaded")) { return; }
      box.setAttribute("data-loaded", "");
      var link = box.querySelector(".cons-parts-link");
      load(box, box.getAttribute("data-parts-url")).then(function () {
        if (link) { link.remove(); }
      }, function () {
        box.removeAttribute("data-loaded");  // the link still opens them on a page
      });
    });
  });
})();
