// member-chart.js draws the daily usage charts of the member pages with
// uPlot (static/chart/, built from web/package-lock.json). Each chart is a
// <figure data-usage-chart="ID"> next to <script type="application/json"
// id="ID"> holding {days: ["YYYY-MM-DD", ...], download: [...], upload:
// [...]} in bytes, and the labels in data-label-* attributes (the page's
// language). Without JavaScript the table under the chart carries the same
// figures. Once drawn, the figure gets data-drawn="N", the number of days
// plotted, which the browser tests check along with the canvas pixels.
(function () {
  "use strict";

  var units = ["B", "kB", "MB", "GB", "TB"];
  function bytes(v) {
    if (v == null) return "";
    var i = 0;
    while (Math.abs(v) >= 1000 && i < units.length - 1) {
      v /= 1000;
      i++;
    }
    return (i === 0 ? v.toFixed(0) : v.toFixed(1)) + " " + units[i];
  }

  function draw(fig) {
    var src = document.getElementById(fig.getAttribute("data-usage-chart"));
    if (!src || typeof uPlot === "undefined") return;
    var d = JSON.parse(src.textContent);
    // The page's language names the units (Go, not GB, in French).
    var u = (fig.getAttribute("data-units") || "").split(" ");
    if (u.length === units.length) units = u;
    var xs = d.days.map(function (day) {
      return Date.parse(day + "T00:00:00Z") / 1000;
    });
    var box = fig.querySelector(".chart-canvas") || fig;
    var bars = uPlot.paths.bars({ size: [0.8, 12] });
    var opts = {
      width: Math.max(box.clientWidth, 280),
      height: 240,
      tzDate: function (ts) {
        return uPlot.tzDate(new Date(ts * 1000), "Etc/UTC");
      },
      legend: { live: true },
      cursor: { points: { show: false } },
      scales: { x: { time: true }, y: { range: function (u, min, max) { return [0, Math.max(max, 1)]; } } },
      axes: [
        { stroke: "#333" },
        { stroke: "#333", size: 70, values: function (u, vals) { return vals.map(bytes); } },
      ],
      series: [
        { label: fig.getAttribute("data-label-day") || "day", value: "{YYYY}-{MM}-{DD}" },
        {
          label: fig.getAttribute("data-label-download") || "download",
          stroke: "#0b5cad", fill: "rgba(11,92,173,0.55)", paths: bars, points: { show: false },
          value: function (u, v) { return bytes(v); },
        },
        {
          label: fig.getAttribute("data-label-upload") || "upload",
          stroke: "#b45309", fill: "rgba(180,83,9,0.55)", paths: bars, points: { show: false },
          value: function (u, v) { return bytes(v); },
        },
      ],
      hooks: {
        draw: [function () { fig.setAttribute("data-drawn", String(xs.length)); }],
      },
    };
    var plot = new uPlot(opts, [xs, d.download, d.upload], box);
    fig.classList.add("chart-ready");
    // The chart says what the table says: fold the table away (it stays
    // one click away, and open for readers without JavaScript).
    var table = fig.querySelector("details.usage-table");
    if (table) table.removeAttribute("open");
    if (typeof ResizeObserver !== "undefined") {
      new ResizeObserver(function () {
        var w = Math.max(box.clientWidth, 280);
        if (w !== plot.width) plot.setSize({ width: w, height: 240 });
      }).observe(box);
    }
  }

  function init() {
    var figs = document.querySelectorAll("[data-usage-chart]");
    for (var i = 0; i < figs.length; i++) draw(figs[i]);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
