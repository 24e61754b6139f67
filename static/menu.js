// The site menu on a phone: a "Menu" button folds the header's links away and opens them
// as a list. Without this script every link simply shows (the header wraps); CSS decides,
// by width, whether the button is shown at all.
(function () {
  "use strict";
  var header = document.querySelector(".site-header.folds");
  var button = header && header.querySelector(".menu-button");
  var menu = header && document.getElementById("site-menu");
  if (!button || !menu) {
    return;
  }
  header.classList.add("has-menu-button");
  button.hidden = false;

  function setOpen(open) {
    button.setAttribute("aria-expanded", open ? "true" : "false");
    header.classList.toggle("menu-open", open);
  }

  button.addEventListener("click", function () {
    setOpen(button.getAttribute("aria-expanded") !== "true");
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && header.classList.contains("menu-open")) {
      setOpen(false);
      button.focus();
    }
  });
})();
