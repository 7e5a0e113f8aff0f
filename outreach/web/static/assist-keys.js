// Assist mode's keys, outside a text field: s sends, e edits (focus on the message), k skips, r rejects (focus on the
// reason). Inside a field the keys type as usual.
(function () {
  "use strict";
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.altKey || event.ctrlKey || event.metaKey ||
        (target && (target.tagName === "TEXTAREA" || target.tagName === "INPUT" || target.tagName === "SELECT"))) {
      return;
    }
    var act = {
      s: function () { document.getElementById("assist-send").requestSubmit(); },
      e: function () { document.getElementById("assist-body").focus(); },
      k: function () { document.getElementById("assist-skip").click(); },
      r: function () { document.getElementById("assist-reason").focus(); }
    }[event.key];
    if (act) { event.preventDefault(); act(); }
  });
}());
