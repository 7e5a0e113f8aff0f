// The answer box's counter: characters, GSM-7 or UCS-2, and SMS parts, counted as messaging/segments.py counts them.
(function () {
  "use strict";
  var BASIC = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var EXTENSION = "\f^{}\\[~]|€";
  function parts(text) {
    var chars = Array.from(text);
    var gsm = chars.every(function (c) { return BASIC.indexOf(c) >= 0 || EXTENSION.indexOf(c) >= 0; });
    var sizes = chars.map(function (c) {
      if (gsm) { return EXTENSION.indexOf(c) >= 0 ? 2 : 1; }
      return c.codePointAt(0) > 0xFFFF ? 2 : 1;
    });
    var units = sizes.reduce(function (a, b) { return a + b; }, 0);
    var single = gsm ? 160 : 70, room = gsm ? 153 : 67;
    var count = 1, used = 0;
    if (units > single) {
      sizes.forEach(function (size) { if (used + size > room) { count += 1; used = 0; } used += size; });
    }
    return { encoding: gsm ? "GSM-7" : "UCS-2", characters: chars.length, parts: text ? count : 0 };
  }
  var box = document.getElementById("reply-body");
  var out = document.getElementById("reply-count");
  if (!box || !out) { return; }
  var max = parseInt(box.getAttribute("data-max-parts"), 10);
  var format = out.getAttribute("data-format");  // translated by the page: {characters} {encoding} {parts} {max}
  function show() {
    var p = parts(box.value);
    out.textContent = format.replace("{characters}", p.characters).replace("{encoding}", p.encoding)
      .replace("{parts}", p.parts).replace("{max}", max);
    out.classList.toggle("problem", p.parts > max);
  }
  box.addEventListener("input", show);
  show();
}());
