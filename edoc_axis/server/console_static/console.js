// The console's only script of its own: charts from the JSON the page carries,
// and a confirmation before discarding a dead letter. No inline script anywhere
// (the Content-Security-Policy forbids it); uPlot draws the charts.
"use strict";

(function () {
  var COLOURS = ["#1f6feb", "#2da44e", "#cf222e", "#bf8700", "#8250df", "#0a7e8c", "#6e7781"];

  function chart(target, data, names, labels) {
    if (!target || typeof uPlot === "undefined" || data.x.length === 0) {
      return;
    }
    var series = [{}];
    var columns = [data.x];
    names.forEach(function (name, i) {
      series.push({
        label: labels[name] || name,
        stroke: COLOURS[i % COLOURS.length],
        width: 2,
      });
      columns.push(data.series[name]);
    });
    var width = Math.max(320, target.clientWidth || 800);
    new uPlot(
      { width: width, height: 240, series: series, axes: [{}, { size: 50 }], scales: { x: { time: true } } },
      columns,
      target
    );
  }

  function drawCharts() {
    var holder = document.getElementById("chart-data");
    if (!holder) {
      return;
    }
    var data = JSON.parse(holder.textContent);
    var traffic = data.charts.traffic;
    chart(
      document.getElementById("chart-traffic"),
      traffic,
      ["accepted", "delivered", "refused", "retries", "dead_lettered"],
      data.labels
    );
    var agencies = data.charts.agencies;
    chart(document.getElementById("chart-agencies"), agencies, Object.keys(agencies.series), {});
  }

  function confirmForms() {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) {
          event.preventDefault();
        }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts();
    confirmForms();
  });
})();
