// The warnings page's time slider (index.html): moving it shows the chosen Shanghai time in
// the form's time field, and letting go reloads the page for that time (the form's GET).
// Without script the slider stays hidden; the field, its button and the hour links work.
(function () {
  "use strict";
  var box = document.getElementById("time-slider-box");
  var slider = document.getElementById("time-slider");
  var field = document.getElementById("at-field");
  var output = document.getElementById("time-slider-output");
  if (!box || !slider || !field) {
    return;
  }
  var offset = Number(slider.getAttribute("data-utc-offset-s")); // Shanghai: UTC+8, no DST

  // "2026-07-20T20:30": the slider's epoch seconds as Shanghai wall-clock time.
  function wallClock(seconds) {
    return new Date((Number(seconds) + offset) * 1000).toISOString().slice(0, 16);
  }

  function show() {
    var local = wallClock(slider.value);
    field.value = local;
    if (output) {
      output.textContent = local.replace("T", " ") + " (北京时间)";
    }
    slider.setAttribute("aria-valuetext", local.replace("T", " ") + " 北京时间 Beijing time");
  }

  box.hidden = false;
  slider.setAttribute("aria-valuetext", field.value.replace("T", " ") + " 北京时间 Beijing time");
  slider.addEventListener("input", show);
  slider.addEventListener("change", function () {
    show();
    field.form.submit();
  });
})();
