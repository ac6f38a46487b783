// The engineers' check form (/checks/new): pick the site on the district map, and show the
// chosen asset type's catalogue standards. No library, nothing fetched; without this script
// the form still works (lon and lat are typed, the defaults are in the table below it).
//
// The map's projection is linear (resilience/web/site_map.py, MapFrame):
//   x = refX + (lon - refLon) * pxPerLon,   y = refY - (lat - refLat) * pxPerLat
// in the SVG's viewBox pixels; a click is inverted with the same coefficients.
(function () {
  "use strict";

  var DIGITS = 4; // 1e-4 degree is about 10 m: finer than a click can place

  function frameOf(svg) {
    var d = svg.dataset;
    return {
      refLon: parseFloat(d.refLon), refLat: parseFloat(d.refLat),
      refX: parseFloat(d.refX), refY: parseFloat(d.refY),
      pxPerLon: parseFloat(d.pxPerLon), pxPerLat: parseFloat(d.pxPerLat)
    };
  }

  function showMarker(marker, frame, lon, lat) {
    if (!isFinite(lon) || !isFinite(lat)) {
      marker.setAttribute("visibility", "hidden");
      return;
    }
    marker.setAttribute("cx", (frame.refX + (lon - frame.refLon) * frame.pxPerLon).toFixed(1));
    marker.setAttribute("cy", (frame.refY - (lat - frame.refLat) * frame.pxPerLat).toFixed(1));
    marker.setAttribute("visibility", "visible");
  }

  function setUpPicker(form) {
    var svg = document.querySelector("svg.site-map[data-pick='1']");
    var lonField = form.elements.namedItem("lon");
    var latField = form.elements.namedItem("lat");
    if (!svg || !lonField || !latField) return;
    var marker = svg.querySelector("#site-marker");
    var frame = frameOf(svg);
    function fromFields() {
      showMarker(marker, frame, parseFloat(lonField.value), parseFloat(latField.value));
    }
    svg.addEventListener("click", function (event) {
      var matrix = svg.getScreenCTM();
      if (!matrix) return;
      var point = svg.createSVGPoint();
      point.x = event.clientX;
      point.y = event.clientY;
      var p = point.matrixTransform(matrix.inverse());
      var lon = frame.refLon + (p.x - frame.refX) / frame.pxPerLon;
      var lat = frame.refLat - (p.y - frame.refY) / frame.pxPerLat;
      lonField.value = lon.toFixed(DIGITS);
      latField.value = lat.toFixed(DIGITS);
      fromFields();
    });
    lonField.addEventListener("input", fromFields);
    latField.addEventListener("input", fromFields);
    fromFields();
  }

  function shown(value) {
    return value === null || value === undefined ? "—" : String(value);
  }

  function setUpDefaults(form) {
    var source = document.getElementById("catalogue-defaults");
    var select = form.elements.namedItem("asset_type");
    if (!source || !select) return;
    var defaults = JSON.parse(source.textContent);
    function apply() {
      var chosen = defaults[select.value];
      if (!chosen) return;
      document.querySelectorAll("[data-default-for]").forEach(function (span) {
        var name = span.getAttribute("data-default-for");
        var bold = span.querySelector("b");
        if (bold) bold.textContent = shown(chosen[name]);
        var field = form.elements.namedItem(name);
        if (field && field.tagName === "INPUT") field.placeholder = shown(chosen[name]);
      });
      document.querySelectorAll("tr[data-asset-type]").forEach(function (row) {
        row.classList.toggle("chosen", row.getAttribute("data-asset-type") === select.value);
      });
    }
    select.addEventListener("change", apply);
    apply();
  }

  var form = document.getElementById("check-form");
  if (form) {
    setUpPicker(form);
    setUpDefaults(form);
  }
})();
