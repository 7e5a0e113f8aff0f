// A quick reply's button puts its text in the answer box, where the fieldworker changes it before sending.
(function () {
  "use strict";
  var box = document.getElementById("reply-body");
  if (!box) { return; }
  Array.prototype.forEach.call(document.querySelectorAll("button.quick"), function (button) {
    button.addEventListener("click", function () {
      box.value = button.getAttribute("data-text");
      box.dispatchEvent(new Event("input"));
      box.focus();
    });
  });
}());
