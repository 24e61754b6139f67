// An email shown in a frame grows to the email's own height, so the page scrolls once rather
// than a box inside it. The frame is sandboxed without scripts but same-origin, which lets
// this page measure it; nothing in the email can run.
(function () {
  "use strict";

  function fit(frame) {
    var doc = frame.contentDocument;
    if (!doc || !doc.documentElement) {
      return; // not readable: the stylesheet's height stays
    }
    // Shrink first: a document is never shorter than the frame that shows it.
    frame.style.height = "0";
    frame.style.height = doc.documentElement.scrollHeight + 2 + "px";
  }

  document.querySelectorAll("iframe[data-fit]").forEach(function (frame) {
    frame.addEventListener("load", function () {
      fit(frame);
    });
    window.addEventListener("resize", function () {
      fit(frame);
    });
    if (frame.contentDocument && frame.contentDocument.readyState === "complete") {
      fit(frame);
    }
  });
})();
