// Training curves with Plotly.js (served by the app from the plotly package): loss and
// the metric, train against validation. Redrawn at most once per animation frame.

import { CLASS_COLORS } from "./colors.js";

const CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["select2d", "lasso2d"] };
const MIN_INTERVAL_MS = 200;
// Points of a curve drawn at most: a chart is a few hundred pixels wide, and Plotly's
// redraw grows with the points, so a long run (thousands of epochs a minute) would take
// the page's time from the stream and the boundary. The arrays keep every epoch.
const MAX_DRAWN_POINTS = 1000;
const FONT = { family: "system-ui, sans-serif", size: 14 };

export class Curves {
  constructor(lossDiv, metricDiv) {
    this.lossDiv = lossDiv;
    this.metricDiv = metricDiv;
    this.logScale = false;
    this.metricName = "accuracy";
    this.clear();
  }

  clear() {
    this.epochs = [];
    this.loss = []; this.valLoss = [];
    this.metric = []; this.valMetric = [];
    this.request();
  }

  add(event) {
    this.epochs.push(event.epoch);
    this.loss.push(event.loss); this.valLoss.push(event.val_loss);
    this.metric.push(event.metric); this.valMetric.push(event.val_metric);
    this.request();
  }

  setLogScale(on) { this.logScale = on; this.request(); }
  setMetricName(name) { this.metricName = name; this.request(); }

  /** Redraw soon: at most five times a second, since a Plotly redraw of a long curve costs
   * tens of milliseconds that the boundary's 20 frames a second need more. */
  request() {
    if (this.pending || !window.Plotly) return;
    this.pending = true;
    const wait = Math.max(0, MIN_INTERVAL_MS - (performance.now() - (this.drawnAt ?? -Infinity)));
    setTimeout(() => requestAnimationFrame(() => {
      this.pending = false;
      this.drawnAt = performance.now();
      this.draw();
    }), wait);
  }

  layout(title, yaxis) {
    return {
      title: { text: title, font: { ...FONT, size: 15 }, x: 0.02 },
      font: FONT, margin: { l: 52, r: 10, t: 32, b: 36 }, height: 210,
      xaxis: { title: { text: "epoch" }, rangemode: "tozero" }, yaxis,
      // Above the plot area: accuracy near 1 runs along its top edge and must not hide under the legend.
      legend: { orientation: "h", x: 1, xanchor: "right", y: 1, yanchor: "bottom", bgcolor: "rgba(0,0,0,0)" },
      uirevision: "keep", datarevision: this.revision, // the arrays grow in place: tell Plotly they changed paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "#fff",
    };
  }

  trace(y, name, color, dash) {
    const [x, shown] = thin(this.epochs, y);
    return { x, y: shown, name, mode: "lines", line: { color, width: 2.5, dash } };
  }

  draw() {
    this.revision = (this.revision || 0) + 1;
    const hasVal = this.valLoss.some((v) => v !== null && v !== undefined);
    const loss = [this.trace(this.loss, "train", CLASS_COLORS[1])];
    const metric = [this.trace(this.metric, "train", CLASS_COLORS[1])];
    if (hasVal) {
      loss.push(this.trace(this.valLoss, "validation", CLASS_COLORS[0], "dash"));
      metric.push(this.trace(this.valMetric, "validation", CLASS_COLORS[0], "dash"));
    }
    Plotly.react(this.lossDiv, loss, this.layout("loss", { type: this.logScale ? "log" : "linear" }), CONFIG);
    const accuracy = this.metricName === "accuracy";
    Plotly.react(this.metricDiv, metric, this.layout(this.metricName,
      accuracy ? { range: [0, 1.02] } : { rangemode: "tozero" }), CONFIG);
  }
}

/** The curve as drawn: every point up to MAX_DRAWN_POINTS; beyond, the lowest and highest
 * point of each of MAX_DRAWN_POINTS / 2 runs of epochs (in epoch order), so a spike still
 * shows, and always the last point. */
function thin(x, y) {
  const n = x.length;
  if (n <= MAX_DRAWN_POINTS) return [x, y];
  const step = Math.ceil(n / (MAX_DRAWN_POINTS / 2));
  const xs = [], ys = [];
  for (let start = 0; start < n; start += step) {
    const end = Math.min(n, start + step);
    let low = start, high = start;
    for (let i = start + 1; i < end; i++) {
      if (!(y[i] >= y[low])) low = i; // null and NaN count as low: a gap stays a gap
      if (y[i] > y[high]) high = i;
    }
    for (const i of low <= high ? [low, high] : [high, low]) {
      if (xs.length && x[i] === xs[xs.length - 1]) continue;
      xs.push(x[i]); ys.push(y[i]);
    }
  }
  if (xs[xs.length - 1] !== x[n - 1]) { xs.push(x[n - 1]); ys.push(y[n - 1]); }
  return [xs, ys];
}
