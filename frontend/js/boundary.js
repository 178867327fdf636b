// The output plot: the model's boundary (or regression surface, or a hovered neuron's
// map) as a heatmap, with the data points on top. Drawn on a canvas: a 64x64 grid and a
// few hundred points take well under a millisecond, so every frame the server sends is shown.

import { CLASS_AREAS, DISCRETE, DIVERGING, SEQUENTIAL, pointColor } from "./colors.js";
import { decodeBase64, paintGrid } from "./grid.js";

export class BoundaryView {
  /** radius: of a training point, in canvas pixels; axes: draw the axes (a thumbnail has none). */
  constructor(canvas, { radius = 4, axes = true } = {}) {
    this.canvas = canvas;
    this.radius = radius;
    this.axes = axes;
    this.ctx = canvas.getContext("2d");
    this.data = null; // {kind, extent, train, val, test, truth: the true boundary's polylines or null}
    this.frame = null; // the newest frame event
    this.frameKind = null; // the problem kind of the run the frame is from (null: the data's)
    this.overlay = null; // {bytes, side, extent, lut}: a neuron's map while hovered
    this.options = { showVal: false, showTest: false, discretize: false, trueBoundary: false };
    this.truthShown = false; // whether the last draw showed the true boundary (for the tests)
    this.extent = [-1, 1, -1, 1];
    this.rendered = 0; // frames drawn, and the milliseconds it took: for the benchmark
    this.drawMs = 0;
    this.pending = false;
  }

  setData(data) {
    this.data = data;
    if (data?.extent) this.extent = data.extent;
    this.request();
  }

  /** A run's frame (null: none), and that run's problem kind, which picks the colours. */
  setFrame(frame, kind = null) {
    this.frame = frame;
    this.frameKind = frame ? kind : null;
    if (frame) this.extent = frame.extent;
    this.request();
  }

  setOverlay(overlay) {
    this.overlay = overlay;
    this.request();
  }

  setOptions(options) {
    Object.assign(this.options, options);
    this.request();
  }

  /** Redraw on the next animation frame; many updates in between cost one draw. */
  request() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => { this.pending = false; this.draw(); });
  }

  /** Canvas pixel -> data coordinates (for drawing points). */
  toData(px, py) {
    const [x0, x1, y0, y1] = this.extent;
    return [x0 + (px / this.canvas.width) * (x1 - x0), y1 - (py / this.canvas.height) * (y1 - y0)];
  }

  toPixel(x, y) {
    const [x0, x1, y0, y1] = this.extent;
    return [((x - x0) / (x1 - x0)) * this.canvas.width, ((y1 - y) / (y1 - y0)) * this.canvas.height];
  }

  lut() {
    const kind = this.frameKind ?? this.data?.kind ?? "binary";
    if (kind === "regression") return SEQUENTIAL;
    if (kind === "multiclass") return CLASS_AREAS;
    return this.options.discretize ? DISCRETE : DIVERGING;
  }

  draw() {
    const began = performance.now();
    const { ctx, canvas } = this;
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    if (this.overlay) {
      paintGrid(ctx, this.overlay.bytes, this.overlay.side, this.overlay.lut);
    } else if (this.frame) {
      if (!this.frame.bytes) this.frame.bytes = decodeBase64(this.frame.boundary);
      paintGrid(ctx, this.frame.bytes, this.frame.resolution, this.lut());
      this.rendered++;
    }
    if (this.axes) this.drawAxes();
    this.truthShown = Boolean(this.options.trueBoundary && this.data?.truth);
    if (this.truthShown) this.drawTruth();
    if (this.data) this.drawPoints();
    this.drawMs += performance.now() - began;
  }

  drawAxes() {
    const { ctx } = this;
    const [x0, x1, y0, y1] = this.extent;
    ctx.strokeStyle = "rgba(0,0,0,0.25)";
    ctx.lineWidth = 1;
    ctx.beginPath();
    if (x0 < 0 && x1 > 0) { const [px] = this.toPixel(0, 0); ctx.moveTo(px, 0); ctx.lineTo(px, this.canvas.height); }
    if (y0 < 0 && y1 > 0) { const [, py] = this.toPixel(0, 0); ctx.moveTo(0, py); ctx.lineTo(this.canvas.width, py); }
    ctx.stroke();
    ctx.fillStyle = "rgba(0,0,0,0.6)";
    ctx.font = "13px system-ui, sans-serif";
    ctx.fillText(x0.toFixed(1), 4, this.canvas.height - 6);
    ctx.fillText(x1.toFixed(1), this.canvas.width - 30, this.canvas.height - 6);
    ctx.fillText(y1.toFixed(1), 4, 14);
  }

  /** The data set's true boundary, dashed: what the network should find. */
  drawTruth() {
    const { ctx } = this;
    ctx.save();
    ctx.setLineDash([8, 6]);
    ctx.lineWidth = 2.5;
    ctx.strokeStyle = "rgba(20, 20, 20, 0.85)";
    ctx.beginPath();
    for (const line of this.data.truth) {
      line.forEach(([x, y], i) => {
        const [px, py] = this.toPixel(x, y);
        if (i === 0) ctx.moveTo(px, py); else ctx.lineTo(px, py);
      });
    }
    ctx.stroke();
    ctx.restore();
  }

  drawPoints() {
    const { ctx, data } = this;
    const labels = [...data.train, ...data.val, ...data.test].map((p) => p[2]);
    const low = Math.min(...labels), high = Math.max(...labels);
    const draw = (points, style) => {
      for (const [x, y, label] of points) {
        const [px, py] = this.toPixel(x, y);
        const color = pointColor(label, data.kind, low, high);
        ctx.beginPath();
        const r = this.radius;
        if (style === "test") {
          ctx.rect(px - r * 1.1, py - r * 1.1, r * 2.2, r * 2.2);
        } else {
          ctx.arc(px, py, style === "val" ? r * 1.1 : r, 0, 2 * Math.PI);
        }
        if (style === "val") {
          ctx.fillStyle = "#fff"; ctx.fill();
          ctx.lineWidth = 2.5; ctx.strokeStyle = color; ctx.stroke();
        } else {
          ctx.fillStyle = color; ctx.fill();
          ctx.lineWidth = r > 2 ? 1 : 0.5;
          ctx.strokeStyle = style === "test" ? "#000" : "#fff";
          ctx.stroke();
        }
      }
    };
    draw(data.train, "train");
    if (this.options.showVal) draw(data.val, "val");
    if (this.options.showTest) draw(data.test, "test");
  }
}

/** A hovered neuron's map as an overlay for the big plot. */
export function neuronOverlay(frame, layer, unit) {
  const text = frame?.neurons?.[layer]?.[unit];
  if (!text) return null;
  return { bytes: decodeBase64(text), side: frame.thumb, lut: DIVERGING };
}
