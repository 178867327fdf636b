// A convolution you can touch (issue 15): one 3x3 kernel over one image (a test image of
// the data set, or the drawing), computed by the server exactly as Keras's Conv2D does
// (POST /api/preview/convolve): the output image, its size and how the size follows
// from the input's, the kernel, the stride and the padding.

import { decodeBase64 } from "./grid.js";
import { el, errorText, paintGrey } from "./draw.js";

const SIDE = 3; // the kernel's rows and columns
const KERNEL_LIMIT = 10; // |weight| the server takes (not in the catalog; the server checks it too)
const STRIDES = 3; // used until the catalog's limits.max_strides is known (the server checks it too)
const MAX_SIDE = 48; // likewise limits.max_image_side: the largest image the server convolves
const STRIP = 12; // test images to pick from
const SHOWN_PX = 128; // the input's shown side; the output is shown at the same pixel size
const WAIT_MS = 120; // recompute this long after the last change

const PRESETS = {
  identity: ["Identity", [[0, 0, 0], [0, 1, 0], [0, 0, 0]]],
  blur: ["Blur", [[1, 1, 1], [1, 1, 1], [1, 1, 1]].map((r) => r.map((v) => v / 9))],
  sharpen: ["Sharpen", [[0, -1, 0], [-1, 5, -1], [0, -1, 0]]],
  horizontal: ["Horizontal edges", [[1, 2, 1], [0, 0, 0], [-1, -2, -1]]],
  vertical: ["Vertical edges", [[1, 0, -1], [2, 0, -2], [1, 0, -1]]],
};

const shown = (v) => String(Math.round(v * 1000) / 1000);

/** The kernel panel. ctx: mountImageTools's; calls: {convolve, catalog}; draw: the drawing panel. */
export function createKernelPanel(ctx, calls, draw) {
  let weights = PRESETS.vertical[1].map((r) => r.slice());
  let source = { kind: "gallery", index: 0 }; // or {kind: "drawing"}
  let data = null, timer = 0, ticket = 0, maxSide = MAX_SIDE;
  let chosenDrawing = false; // the drawing was picked (else a test image is, when there are some)

  const strip = el("div", { className: "kernel-strip", role: "group", "aria-label": "Image to convolve" });
  const input = el("canvas", { className: "pixels-nn", role: "img", "aria-label": "The input image" });
  const output = el("canvas", { className: "pixels-nn", role: "img", "aria-label": "The output image",
    "data-testid": "kernel-output" });
  const inputCaption = el("figcaption", { text: "Input" });
  const outputCaption = el("figcaption", { text: "Output" });
  const cells = [];
  const grid = el("div", { className: "kernel-grid", role: "group", "aria-label": "Kernel weights" });
  for (let r = 0; r < SIDE; r++) {
    for (let c = 0; c < SIDE; c++) {
      const cell = el("input", { type: "number", step: "any", min: -KERNEL_LIMIT, max: KERNEL_LIMIT,
        "aria-label": `Weight, row ${r + 1}, column ${c + 1}`, "data-testid": `kernel-w${r}${c}` });
      cell.oninput = () => { readCell(cell, r, c); schedule(); };
      cells.push(cell);
      grid.append(cell);
    }
  }
  const presets = el("div", { className: "tool-buttons kernel-presets", role: "group", "aria-label": "Kernel presets" },
    ...Object.entries(PRESETS).map(([key, [label, kernel]]) => {
      const button = el("button", { type: "button", text: label, "data-preset": key });
      button.onclick = () => { weights = kernel.map((row) => row.slice()); showWeights(); schedule(); };
      return button;
    }));
  const stride = el("select", { "data-testid": "kernel-stride" });
  const padding = el("select", { "data-testid": "kernel-padding" });
  const fillStrides = (most) => stride.replaceChildren(...Array.from({ length: most }, (_, i) =>
    el("option", { value: String(i + 1), text: String(i + 1) })));
  const fillPadding = (choices) => padding.replaceChildren(...choices.map((p) => el("option", { value: p, text: p })));
  fillStrides(STRIDES);
  fillPadding(["valid", "same"]);
  stride.onchange = padding.onchange = () => schedule();

  const size = el("p", { "data-testid": "kernel-size", className: "kernel-size", "aria-live": "polite" });
  const range = el("p", { className: "small", "data-testid": "kernel-range" });
  const error = el("p", { className: "field-error", role: "alert" });
  const root = el("div", { "data-testid": "kernel", className: "tool kernel-tool" },
    el("h3", { text: "A convolution you can touch" }),
    strip,
    el("div", { className: "kernel-body" },
      el("figure", {}, input, inputCaption),
      el("span", { className: "kernel-op", "aria-hidden": "true", text: "∗" }),
      grid,
      el("span", { className: "kernel-op", "aria-hidden": "true", text: "=" }),
      el("figure", {}, output, outputCaption)),
    el("div", { className: "kernel-options" }, presets,
      el("label", { text: "Stride " }, stride), el("label", { text: "Padding " }, padding)),
    size, range, error,
    el("p", { className: "small kernel-note", text: "A convolution slides the 3×3 kernel over the image: each output "
      + "pixel is the weighted sum of a 3×3 neighbourhood, with these 9 numbers as the weights. A Conv2D layer "
      + "learns its 9 numbers per filter (and channel) from the data instead of being given them." }));

  // The bounds the server gives (the catalog): strides, paddings and the largest image side.
  calls.catalog?.().then((catalog) => {
    const conv = catalog?.layer_types?.conv2d;
    const most = catalog?.limits?.max_strides;
    if (Number.isInteger(most) && most >= 1 && most <= 10) fillStrides(most);
    if (Array.isArray(conv?.padding?.choices) && conv.padding.choices.every((p) => typeof p === "string")) {
      fillPadding(conv.padding.choices);
    }
    if (Number.isInteger(catalog?.limits?.max_image_side)) maxSide = catalog.limits.max_image_side;
    schedule();
  }).catch(() => { /* the fallbacks above stand */ });

  function readCell(cell, r, c) {
    const v = cell.value.trim() === "" ? NaN : Number(cell.value);
    const ok = Number.isFinite(v) && Math.abs(v) <= KERNEL_LIMIT;
    cell.setAttribute("aria-invalid", String(!ok));
    weights[r][c] = ok ? v : null;
  }

  function showWeights() {
    cells.forEach((cell, i) => {
      cell.value = shown(weights[Math.floor(i / SIDE)][i % SIDE]);
      cell.setAttribute("aria-invalid", "false");
    });
  }

  /** The chosen image: {rows (0..1), bytes (0..255), h, w}, or null when there is none. */
  function image() {
    if (source.kind === "gallery" && data && source.index < data.count) {
      const { h, w, bytes } = data, offset = source.index * h * w;
      const rows = Array.from({ length: h }, (_, r) => Array.from({ length: w },
        (_, c) => Math.round((bytes[offset + r * w + c] / 255) * 1000) / 1000));
      return { rows, bytes: bytes.subarray(offset, offset + h * w), h, w };
    }
    if (source.kind !== "drawing") return null;
    const side = Math.min(maxSide, data?.h ?? ctx.getCatalogEntry()?.shape?.[0] ?? 16);
    const rows = draw.pixels(side);
    return { rows, bytes: Uint8Array.from(rows.flat(), (v) => Math.round(v * 255)), h: side, w: side };
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(compute, WAIT_MS);
  }

  function scaleOf(h, w) {
    return Math.max(1, Math.floor(SHOWN_PX / Math.max(h, w)));
  }

  async function compute() {
    const mine = ++ticket;
    const picked = image();
    error.textContent = "";
    if (!picked) {
      size.textContent = "Choose an image data set to convolve its images, or draw on the pad above.";
      range.textContent = "";
      return;
    }
    const { rows, bytes, h, w } = picked;
    const scale = scaleOf(h, w);
    paintGrey(input, bytes, 0, h, w);
    input.style.width = `${w * scale}px`;
    inputCaption.textContent = `Input ${h}×${w}`;
    if (weights.some((row) => row.some((v) => v === null))) {
      error.textContent = `Each weight is a number from -${KERNEL_LIMIT} to ${KERNEL_LIMIT}.`;
      return;
    }
    try {
      const answer = await calls.convolve({ image: rows, kernel: weights, stride: Number(stride.value),
        padding: padding.value });
      if (mine !== ticket) return;
      const oh = answer?.height, ow = answer?.width;
      if (!Number.isInteger(oh) || !Number.isInteger(ow) || oh < 1 || ow < 1 || typeof answer.output !== "string"
        || !Number.isFinite(answer.low) || !Number.isFinite(answer.high)) throw new Error("The server's answer could not be read.");
      const out = decodeBase64(answer.output);
      if (out.length !== oh * ow) throw new Error("The server's answer could not be read.");
      paintGrey(output, out, 0, oh, ow);
      output.style.width = `${ow * scale}px`;
      outputCaption.textContent = `Output ${oh}×${ow}`;
      const formula = typeof answer.formula?.height === "string" ? answer.formula.height : "";
      size.textContent = `Output size ${oh}×${ow}` + (formula ? `; each side: ${formula}` : "");
      range.textContent = answer.low === answer.high ? `Every output value is ${shown(answer.low)}.`
        : `Output values from ${shown(answer.low)} (black) to ${shown(answer.high)} (white).`;
    } catch (err) {
      if (mine === ticket) error.textContent = errorText(err);
    }
  }

  function pick(next) {
    source = next;
    for (const button of strip.children) {
      const on = next.kind === "drawing" ? button.dataset.source === "drawing" : button.dataset.source === String(next.index);
      button.setAttribute("aria-pressed", String(on));
    }
    schedule();
  }

  /** New images previewed (or none): the strip of test images to pick from. */
  function setData(preview) {
    data = null;
    if (preview?.shape && preview.gallery) {
      const [h, w] = preview.shape;
      let bytes = preview.galleryBytes;
      try { bytes = bytes ?? decodeBase64(preview.gallery.images); } catch { bytes = null; }
      const count = bytes && Number.isInteger(h) && Number.isInteger(w) && h > 0 && w > 0
        ? Math.min(preview.gallery.count ?? 0, Math.floor(bytes.length / (h * w))) : 0;
      if (count > 0 && h <= maxSide && w <= maxSide) data = { h, w, bytes, count };
    }
    const classes = ctx.getCatalogEntry()?.classes ?? [];
    const buttons = Array.from({ length: Math.min(STRIP, data?.count ?? 0) }, (_, i) => {
      const label = preview.gallery.labels?.[i];
      const name = typeof classes[label] === "string" ? classes[label] : "";
      const button = el("button", { type: "button", className: "kernel-thumb", "data-source": String(i),
        "aria-label": `Test image ${i + 1}${name ? `: ${name}` : ""}` },
      paintGrey(el("canvas", { className: "pixels-nn" }), data.bytes, i * data.h * data.w, data.h, data.w));
      button.onclick = () => { chosenDrawing = false; pick({ kind: "gallery", index: i }); };
      return button;
    });
    const drawing = el("button", { type: "button", className: "kernel-thumb", "data-source": "drawing", text: "Your drawing" });
    drawing.onclick = () => { chosenDrawing = true; pick({ kind: "drawing" }); };
    strip.replaceChildren(...buttons, drawing);
    const index = source.kind === "gallery" && data && source.index < data.count ? source.index : 0;
    pick(chosenDrawing || !data ? { kind: "drawing" } : { kind: "gallery", index });
  }

  /** The drawing changed: recompute when it is the image convolved. */
  function drawn() {
    if (source.kind === "drawing") schedule();
  }

  showWeights();
  setData(null);
  return { root, setData, drawn };
}
