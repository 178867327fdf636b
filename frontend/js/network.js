// The network diagram, in the style of TensorFlow Playground: input features, hidden
// layers (each with +/- neurons and an activation), the output. Links are drawn on one
// canvas with width and colour from the live weights (hundreds of SVG paths would be
// too slow at 20 frames a second); each neuron shows its live activation map.

import { DIVERGING, weightColor } from "./colors.js";
import { decodeBase64, paintGrid } from "./grid.js";

const FEATURE_FN = {
  "x1": (x, y) => x, "x2": (x, y) => y, "x1^2": (x, y) => x * x, "x2^2": (x, y) => y * y,
  "x1*x2": (x, y) => x * y, "sin(x1)": (x, y) => Math.sin(x), "sin(x2)": (x, y) => Math.sin(y),
};
const FEATURE_LABEL = { "x1": "x₁", "x2": "x₂", "x1^2": "x₁²", "x2^2": "x₂²", "x1*x2": "x₁x₂",
  "sin(x1)": "sin x₁", "sin(x2)": "sin x₂" };

/** A feature over the plane, as a side x side byte grid (bottom row first). */
function featureMap(name, extent, side = 16) {
  const [x0, x1, y0, y1] = extent;
  const values = new Float32Array(side * side);
  for (let r = 0; r < side; r++) {
    for (let c = 0; c < side; c++) {
      values[r * side + c] = FEATURE_FN[name](x0 + ((c + 0.5) / side) * (x1 - x0), y0 + ((r + 0.5) / side) * (y1 - y0));
    }
  }
  let low = Infinity, high = -Infinity;
  for (const v of values) { low = Math.min(low, v); high = Math.max(high, v); }
  return Uint8Array.from(values, (v) => Math.round(((v - low) / ((high - low) || 1)) * 255));
}

export class NetworkView {
  /** callbacks: onChange(layers), onHover({layer, unit} | {output: true} | null) */
  constructor(root, tip, { onChange, onHover }) {
    this.root = root;
    this.tip = tip;
    this.onChange = onChange;
    this.onHover = onHover;
    this.links = document.createElement("canvas");
    this.links.className = "links";
    this.layers = [];
    this.features = [];
    this.activations = [];
    this.maxUnits = 64;
    this.frame = null;
    this.linkGeometry = [];
    this.links.addEventListener("mousemove", (e) => this.hoverLink(e));
    this.links.addEventListener("mouseleave", () => { this.tip.hidden = true; });
    new ResizeObserver(() => this.layout()).observe(root);
  }

  setStructure({ features, layers, activations, maxUnits, extent, outputs = 1 }) {
    this.features = features;
    this.layers = layers.map((l) => ({ ...l }));
    this.activations = activations;
    this.maxUnits = maxUnits;
    this.extent = extent;
    this.outputs = outputs;
    this.build();
  }

  setExtent(extent) {
    this.extent = extent;
    this.paintFeatures();
  }

  build() {
    const root = this.root;
    root.replaceChildren(this.links);
    this.columns = [];
    const column = (count, kind, index) => {
      const col = document.createElement("div");
      col.className = `net-column ${kind}`;
      const head = document.createElement("div");
      head.className = "net-head";
      col.append(head);
      const nodes = [];
      for (let u = 0; u < count; u++) {
        const node = document.createElement("div");
        node.className = "neuron";
        node.tabIndex = 0;
        const canvas = document.createElement("canvas");
        canvas.width = canvas.height = 48;
        node.append(canvas);
        if (kind === "hidden" || kind === "output") {
          const bias = document.createElement("span");
          bias.className = "bias";
          node.append(bias);
        }
        col.append(node);
        nodes.push(node);
      }
      root.append(col);
      this.columns.push({ col, head, nodes, kind, index });
      return { head, nodes };
    };

    const inputs = column(this.features.length, "input", -1);
    inputs.head.append(span("net-title", "Input"), span("small", `${this.features.length} features`));
    inputs.nodes.forEach((node, i) => {
      node.title = `input ${this.features[i]}`;
      const label = document.createElement("span");
      label.className = "feature-label";
      label.textContent = FEATURE_LABEL[this.features[i]];
      node.append(label);
    });

    this.layers.forEach((layer, l) => {
      const { head, nodes } = column(layer.units, "hidden", l);
      const minus = button("minus", "\u2212", `One neuron fewer in layer ${l + 1}`);
      const plus = button("plus", "+", `One neuron more in layer ${l + 1}`);
      const activation = document.createElement("select");
      activation.className = "activation";
      activation.setAttribute("aria-label", `Activation of layer ${l + 1}`);
      activation.append(...this.activations.map((a) => new Option(a, a, false, a === layer.activation)));
      const error = span("field-error", "");
      error.dataset.errorFor = `layers[${l}]`;
      const units = span("unit-buttons", "");
      units.append(minus, span("units", String(layer.units)), plus);
      head.append(span("net-title", `Layer ${l + 1}`), units, activation, error);
      minus.disabled = layer.units <= 1;
      plus.disabled = layer.units >= this.maxUnits;
      minus.onclick = () => this.changeUnits(l, -1);
      plus.onclick = () => this.changeUnits(l, +1);
      activation.onchange = (e) => {
        this.layers[l].activation = e.target.value;
        this.onChange(this.layers);
      };
      nodes.forEach((node, u) => {
        node.title = `layer ${l + 1}, neuron ${u + 1}: hover to see its map large`;
        node.onmouseenter = node.onfocus = () => this.onHover({ layer: l, unit: u });
        node.onmouseleave = node.onblur = () => this.onHover(null);
      });
    });

    const out = column(1, "output", this.layers.length);
    out.head.append(span("net-title", "Output"), span("small", this.outputs > 1 ? `${this.outputs} classes, softmax` : ""));
    out.nodes[0].title = "the output: the decision boundary";
    out.nodes[0].onmouseenter = () => this.onHover({ output: true });
    out.nodes[0].onmouseleave = () => this.onHover(null);
    this.paintFeatures();
    this.layout();
    if (this.frame) this.update(this.frame);
  }

  changeUnits(l, delta) {
    const units = Math.max(1, Math.min(this.maxUnits, this.layers[l].units + delta));
    if (units === this.layers[l].units) return;
    this.layers[l].units = units;
    this.onChange(this.layers);
  }

  paintFeatures() {
    const inputs = this.columns?.[0];
    if (!inputs || !this.extent) return;
    inputs.nodes.forEach((node, i) => {
      const canvas = node.querySelector("canvas");
      paintGrid(canvas.getContext("2d"), featureMap(this.features[i], this.extent), 16, DIVERGING);
    });
  }

  /** Size the nodes to the tallest column and place the links canvas under them. */
  layout() {
    if (!this.columns) return;
    const tallest = Math.max(...this.columns.map((c) => c.nodes.length));
    const size = tallest > 24 ? 16 : tallest > 12 ? 26 : 40;
    this.root.style.setProperty("--node", `${size}px`);
    this.root.classList.toggle("compact", size < 40); // no room for bias labels: they stay in the tooltip
    const box = this.root.getBoundingClientRect();
    this.links.width = Math.max(1, Math.round(box.width));
    this.links.height = Math.max(1, Math.round(this.root.scrollHeight));
    this.centers = this.columns.map((c) => c.nodes.map((node) => {
      const r = node.getBoundingClientRect();
      return { left: r.left - box.left, right: r.right - box.left, y: r.top - box.top + r.height / 2 + this.root.scrollTop };
    }));
    this.drawLinks();
  }

  /** A new frame: neuron maps, biases, links (null: the run is gone, the links go grey). */
  update(frame) {
    this.frame = frame;
    if (!this.columns) return;
    if (!frame) { this.drawLinks(); return; } // no run: the links without weights
    this.columns.forEach((column) => {
      if (column.kind === "hidden") {
        const maps = frame.neurons[column.index] || [];
        const ranges = frame.neuron_ranges[column.index] || [];
        const bias = frame.weights[column.index]?.bias || [];
        column.nodes.forEach((node, u) => {
          if (!maps[u]) return;
          paintGrid(node.querySelector("canvas").getContext("2d"), decodeBase64(maps[u]), frame.thumb, DIVERGING);
          setBias(node.querySelector(".bias"), bias[u]);
          node.dataset.range = ranges[u] ? `${ranges[u][0].toFixed(2)} … ${ranges[u][1].toFixed(2)}` : "";
        });
      } else if (column.kind === "output") {
        const node = column.nodes[0];
        if (!frame.bytes) frame.bytes = decodeBase64(frame.boundary);
        paintGrid(node.querySelector("canvas").getContext("2d"), frame.bytes, frame.resolution, DIVERGING);
        const bias = frame.weights[frame.weights.length - 1]?.bias || [];
        setBias(node.querySelector(".bias"), bias.length === 1 ? bias[0] : null);
      }
    });
    this.drawLinks();
  }

  drawLinks() {
    const ctx = this.links.getContext("2d");
    ctx.clearRect(0, 0, this.links.width, this.links.height);
    this.linkGeometry = [];
    if (!this.centers) return;
    const weights = this.frame?.weights;
    const shapeMatches = weights && weights.length === this.columns.length - 1
      && weights.every((w, l) => w.kernel.length === this.centers[l].length);
    for (let l = 0; l + 1 < this.centers.length; l++) {
      const from = this.centers[l], to = this.centers[l + 1];
      for (let i = 0; i < from.length; i++) {
        for (let u = 0; u < to.length; u++) {
          const w = shapeMatches ? weights[l].kernel[i][u] : null;
          const a = from[i], b = to[u];
          ctx.beginPath();
          ctx.moveTo(a.right, a.y);
          ctx.bezierCurveTo((a.right + b.left) / 2, a.y, (a.right + b.left) / 2, b.y, b.left, b.y);
          if (w === null || w === undefined) {
            ctx.strokeStyle = "rgba(0,0,0,0.12)";
            ctx.lineWidth = 1;
          } else {
            ctx.strokeStyle = weightColor(w);
            ctx.globalAlpha = Math.min(1, 0.25 + Math.abs(w));
            ctx.lineWidth = Math.min(8, 0.4 + Math.abs(w) * 2);
          }
          ctx.stroke();
          ctx.globalAlpha = 1;
          this.linkGeometry.push({ a, b, w, label: this.linkLabel(l, i, u) });
        }
      }
    }
  }

  linkLabel(l, i, u) {
    const source = l === 0 ? this.features[i] : `layer ${l} neuron ${i + 1}`;
    const target = l === this.layers.length ? "output" : `layer ${l + 1} neuron ${u + 1}`;
    return `${source} → ${target}`;
  }

  hoverLink(event) {
    const box = this.root.getBoundingClientRect();
    const x = event.clientX - box.left, y = event.clientY - box.top + this.root.scrollTop;
    let best = null, bestDistance = 5;
    for (const link of this.linkGeometry) {
      if (x < link.a.right || x > link.b.left) continue;
      // The curve's height at x, from its end points (a smoothstep, like the Bezier's shape).
      const t = (x - link.a.right) / ((link.b.left - link.a.right) || 1);
      const yAt = link.a.y + (link.b.y - link.a.y) * t * t * (3 - 2 * t);
      const d = Math.abs(yAt - y);
      if (d < bestDistance) { best = link; bestDistance = d; }
    }
    if (!best) { this.tip.hidden = true; return; }
    this.tip.hidden = false;
    this.tip.textContent = `${best.label}: weight ${best.w === null ? "(not trained yet)" : best.w.toFixed(3)}`;
    this.tip.style.left = `${event.clientX + 12}px`;
    this.tip.style.top = `${event.clientY + 12}px`;
  }
}

function setBias(element, value) {
  if (!element) return;
  if (value === null || value === undefined) { element.textContent = ""; return; }
  element.textContent = `b ${value >= 0 ? "+" : "−"}${Math.abs(value).toFixed(2)}`;
  element.style.color = weightColor(value);
  element.title = `bias ${value.toFixed(4)}`;
  element.parentElement.dataset.bias = value.toFixed(4);
  element.parentElement.title = element.parentElement.title.replace(/ · bias .*$/, "") + ` · bias ${value.toFixed(3)}`;
}

/** <span class=...>text</span>, the text as text. */
function span(className, text) {
  const element = document.createElement("span");
  element.className = className;
  element.textContent = text;
  return element;
}

function button(className, text, label) {
  const element = document.createElement("button");
  element.type = "button";
  element.className = className;
  element.textContent = text;
  element.setAttribute("aria-label", label);
  return element;
}
