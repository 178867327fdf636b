// Drawing to classify (issue 15): a pad to draw a figure on with the mouse or a finger,
// white on black as the data sets' images are, and the current run's answer for it
// (POST /api/runs/{id}/predict with `fit`: the server crops the drawing to its ink and
// scales it as the data set's figures): the class, the probability of each class and the
// image as the network saw it. A picture can be uploaded instead: it is fitted into the pad
// and made grey (light on dark as drawn, or inverted for dark ink on light paper), then
// classified like a drawing. Everything shown is text or canvas pixels, never HTML (an
// uploaded file's name is never shown).

import { decodeBase64 } from "./grid.js";

const PAD = 192; // the pad's side in canvas pixels
const MAX_SENT = 64; // the server takes drawings of at most 64x64 pixels (and checks it)
const AFTER_STROKE_MS = 300; // classify this long after the last stroke
const EPOCH_GAP_MS = 1500; // while a run trains, ask again at most this often (new epochs)
const MAX_UPLOAD_MB = 5; // the largest picture file the pad takes
const MAX_UPLOAD_PIXELS = 50e6; // and the most pixels it may decode to

/** `bitmap` fitted (whole, centred) into a side x side square and made grey (0.299 R + 0.587 G
 * + 0.114 B over a ground of black, or white when `invert`, then inverted): the pad's pixels. */
export function greyPicture(bitmap, side, invert) {
  const work = document.createElement("canvas");
  work.width = work.height = side;
  const w = work.getContext("2d", { willReadFrequently: true });
  w.fillStyle = invert ? "#fff" : "#000";
  w.fillRect(0, 0, side, side);
  const fit = Math.min(side / bitmap.width, side / bitmap.height);
  const dw = Math.max(1, Math.round(bitmap.width * fit)), dh = Math.max(1, Math.round(bitmap.height * fit));
  w.imageSmoothingQuality = "high";
  w.drawImage(bitmap, Math.floor((side - dw) / 2), Math.floor((side - dh) / 2), dw, dh);
  const image = w.getImageData(0, 0, side, side);
  const px = image.data;
  for (let i = 0; i < px.length; i += 4) {
    const grey = Math.round(0.299 * px[i] + 0.587 * px[i + 1] + 0.114 * px[i + 2]);
    px[i] = px[i + 1] = px[i + 2] = invert ? 255 - grey : grey;
    px[i + 3] = 255;
  }
  return image;
}

/** An element with attributes and children (strings become text nodes, never HTML). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "text") node.textContent = value;
    else if (key === "className") node.className = value;
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

/** Paint h x w bytes of `bytes` from `offset` as grey (0 black, 255 white) on `canvas`,
 * one canvas pixel per image pixel (CSS scales it up without smoothing). */
export function paintGrey(canvas, bytes, offset, h, w) {
  if (canvas.width !== w) canvas.width = w;
  if (canvas.height !== h) canvas.height = h;
  const g = canvas.getContext("2d");
  const image = g.createImageData(w, h);
  for (let i = 0; i < h * w; i++) {
    const v = bytes[offset + i] ?? 0;
    image.data.set([v, v, v, 255], i * 4);
  }
  g.putImageData(image, 0, 0);
  return canvas;
}

/** The text of an error to show: the server's `detail` as api.js made it the message. */
export const errorText = (err) => (err && err.message ? String(err.message) : "Something went wrong.");

/** `canvas` resampled to side x side grey values in 0..1 (each the mean of what it covers). */
export function downsample(canvas, side) {
  const { width, height } = canvas;
  const px = canvas.getContext("2d").getImageData(0, 0, width, height).data;
  const rows = [];
  for (let r = 0; r < side; r++) {
    const y0 = Math.floor((r * height) / side), y1 = Math.max(y0 + 1, Math.floor(((r + 1) * height) / side));
    const row = [];
    for (let c = 0; c < side; c++) {
      const x0 = Math.floor((c * width) / side), x1 = Math.max(x0 + 1, Math.floor(((c + 1) * width) / side));
      let sum = 0;
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) sum += px[(y * width + x) * 4];
      row.push(Math.round((sum / ((y1 - y0) * (x1 - x0) * 255)) * 1000) / 1000);
    }
    rows.push(row);
  }
  return rows;
}

/** A prediction from outside, checked before it is drawn (null when it cannot be read). */
function checkAnswer(answer, classes) {
  if (!answer || typeof answer !== "object") return null;
  const p = answer.probabilities;
  if (!Array.isArray(p) || !p.length || !p.every((v) => typeof v === "number" && Number.isFinite(v))) return null;
  if (!Number.isInteger(answer.predicted) || answer.predicted < 0 || answer.predicted >= p.length) return null;
  let bytes = null;
  if (typeof answer.image === "string") {
    try { bytes = decodeBase64(answer.image); } catch { bytes = null; }
  }
  const side = bytes ? Math.round(Math.sqrt(bytes.length)) : 0;
  const names = p.map((_, i) => (typeof classes?.[i] === "string" ? classes[i] : `class ${i}`));
  return { p, predicted: answer.predicted, names, bytes: side * side === bytes?.length && side ? bytes : null, side };
}

/** The drawing panel. ctx: mountImageTools's; calls: {predict}; onDrawn(): the drawing changed. */
export function createDrawPanel(ctx, calls, onDrawn) {
  const pad = el("canvas", { "data-testid": "draw-canvas", className: "draw-pad", role: "img",
    "aria-label": "Drawing pad: draw a figure with the mouse or a finger" });
  pad.width = pad.height = PAD;
  const g = pad.getContext("2d", { willReadFrequently: true });
  const clear = el("button", { type: "button", text: "Clear" });
  const classify = el("button", { type: "button", className: "primary", text: "Classify" });
  const status = el("p", { className: "hint", "aria-live": "polite" });
  const file = el("input", { type: "file", accept: "image/*", "data-testid": "draw-upload" });
  const invert = el("input", { type: "checkbox", "data-testid": "draw-invert" });
  const upload = el("div", { className: "draw-upload" },
    el("label", { className: "draw-file" }, "Upload an image ", file),
    el("label", { className: "draw-invert" }, invert, " dark ink on light paper"));
  const error = el("p", { className: "field-error", role: "alert" });
  const verdict = el("p", { className: "draw-verdict" });
  const bars = el("ol", { className: "draw-bars", "aria-label": "Probability of each class" });
  const seen = el("canvas", { className: "draw-seen", "aria-label": "The drawing as the network saw it", role: "img" });
  const seenFigure = el("figure", { className: "draw-seen-figure" }, seen, el("figcaption", { text: "As the network saw it" }));
  seenFigure.hidden = true;
  const result = el("div", { "data-testid": "draw-prediction", className: "draw-prediction", "aria-live": "polite" },
    verdict, bars);
  const root = el("div", { "data-testid": "draw", className: "tool draw-tool" },
    el("h3", { text: "Draw to classify" }),
    status,
    el("div", { className: "draw-body" },
      el("div", { className: "draw-left" }, pad, el("div", { className: "tool-buttons" }, clear, classify), upload),
      el("div", { className: "draw-right" }, result, seenFigure)),
    error);

  let ink = false, stroke = null, timer = 0, ticket = 0, busy = false, lastAsked = 0, runKey = null;
  let askedEpoch = null; // the run's epoch when the drawing was last sent
  let picture = null; // the uploaded picture while it is what the pad shows (the checkbox redraws it)

  function blank() {
    g.fillStyle = "#000";
    g.fillRect(0, 0, PAD, PAD);
  }

  /** A stroke suited to the data set: thicker when its images have fewer pixels. */
  function lineWidth() {
    const side = ctx.getData()?.shape?.[0] ?? ctx.getCatalogEntry()?.shape?.[0] ?? 16;
    return Math.max(6, Math.min(24, Math.round((PAD / side) * 1.5)));
  }

  function at(event) {
    const box = pad.getBoundingClientRect();
    return [((event.clientX - box.left) * PAD) / box.width, ((event.clientY - box.top) * PAD) / box.height];
  }

  pad.addEventListener("pointerdown", (event) => {
    event.preventDefault();
    pad.setPointerCapture?.(event.pointerId);
    clearTimeout(timer);
    picture?.close();
    picture = null; // drawn on: the checkbox no longer redraws the upload
    stroke = at(event);
    Object.assign(g, { strokeStyle: "#fff", fillStyle: "#fff", lineWidth: lineWidth(), lineCap: "round", lineJoin: "round" });
    g.beginPath();
    g.arc(stroke[0], stroke[1], g.lineWidth / 2, 0, 2 * Math.PI);
    g.fill();
    ink = true;
  });
  pad.addEventListener("pointermove", (event) => {
    if (!stroke) return;
    const next = at(event);
    g.beginPath();
    g.moveTo(...stroke);
    g.lineTo(...next);
    g.stroke();
    stroke = next;
  });
  const end = () => {
    if (!stroke) return;
    stroke = null;
    onDrawn();
    clearTimeout(timer);
    if (ctx.getRun()) timer = setTimeout(run, AFTER_STROKE_MS);
  };
  pad.addEventListener("pointerup", end);
  pad.addEventListener("pointercancel", end);

  /** The uploaded picture on the pad, then its answer as after a stroke. */
  function showPicture() {
    blank();
    g.putImageData(greyPicture(picture, PAD, invert.checked), 0, 0);
    ink = true;
    error.textContent = "";
    onDrawn();
    clearTimeout(timer);
    if (ctx.getRun()) run(); else update();
  }

  file.onchange = async () => {
    const chosen = file.files?.[0];
    if (!chosen) return;
    error.textContent = "";
    if (chosen.size > MAX_UPLOAD_MB * 1024 * 1024) {
      error.textContent = `That file is ${(chosen.size / 1024 / 1024).toFixed(1)} MB: upload an image of at most `
        + `${MAX_UPLOAD_MB} MB.`;
      file.value = "";
      return;
    }
    let bitmap;
    try {
      bitmap = await createImageBitmap(chosen);
    } catch {
      error.textContent = "That file could not be read as an image (try a PNG or a JPEG).";
      file.value = "";
      return;
    }
    if (bitmap.width * bitmap.height > MAX_UPLOAD_PIXELS) {
      bitmap.close();
      error.textContent = "That image has too many pixels: upload a smaller one.";
      file.value = "";
      return;
    }
    picture?.close();
    picture = bitmap;
    showPicture();
  };
  invert.onchange = () => { if (picture) showPicture(); };

  clear.onclick = () => {
    clearTimeout(timer);
    ticket++;
    blank();
    picture?.close();
    picture = null;
    file.value = "";
    ink = false;
    showResult(null);
    error.textContent = "";
    onDrawn();
    update();
  };
  classify.onclick = () => run();

  function showResult(answer) {
    if (!answer) {
      verdict.textContent = "";
      bars.replaceChildren();
      seenFigure.hidden = true;
      return;
    }
    const { p, predicted, names, bytes, side } = answer;
    verdict.textContent = `It looks like: ${names[predicted]} (${Math.round(p[predicted] * 100)} %)`;
    bars.replaceChildren(...p.map((v, i) => {
      const fill = el("span", { className: "bar-fill" });
      fill.style.width = `${Math.max(0, Math.min(1, v)) * 100}%`;
      return el("li", { className: i === predicted ? "bar-row top" : "bar-row" },
        el("span", { className: "bar-name", text: names[i] }),
        el("span", { className: "bar-track" }, fill),
        el("span", { className: "bar-value", text: `${Math.round(v * 100)} %` }));
    }));
    seenFigure.hidden = !bytes;
    if (bytes) paintGrey(seen, bytes, 0, side, side);
  }

  /** Ask the current run about the drawing (the newest request wins). */
  async function run() {
    clearTimeout(timer);
    const target = ctx.getRun();
    if (!target) return update();
    if (!ink) {
      error.textContent = "Draw a figure on the pad first.";
      return;
    }
    const mine = ++ticket;
    busy = true;
    lastAsked = Date.now();
    askedEpoch = target.epoch;
    error.textContent = "";
    try {
      const raw = await calls.predict(target.id, target.token,
        { image: downsample(pad, Math.min(MAX_SENT, PAD)), fit: true });
      if (mine !== ticket) return;
      const answer = checkAnswer(raw, ctx.getCatalogEntry()?.classes);
      if (!answer) throw new Error("The server's answer could not be read.");
      showResult(answer);
      ctx.onPrediction?.(raw);
    } catch (err) {
      if (mine === ticket) error.textContent = errorText(err);
    } finally {
      if (mine === ticket) busy = false;
    }
  }

  /** The run may have changed (or trained an epoch more): the status line, Classify, and a
   * new answer for the drawing while the run learns. */
  function update() {
    const target = ctx.getRun();
    classify.disabled = !target;
    status.textContent = target ? "Draw a figure: the network classifies it after each stroke."
      : "Train a model first: then draw a figure here and the network classifies it.";
    const key = target ? `${target.id}` : null;
    if (key !== runKey) {
      runKey = key;
      ticket++;
      busy = false;
      showResult(null);
      error.textContent = "";
      if (target && ink) timer = setTimeout(run, AFTER_STROKE_MS);
    } else if (target && ink && !busy && !stroke && askedEpoch !== null && target.epoch !== askedEpoch
      && Date.now() - lastAsked > EPOCH_GAP_MS) {
      run(); // the network learned more since: its answer for the same drawing
    }
  }

  blank();
  update();
  return {
    root, update,
    hasInk: () => ink,
    /** The drawing as side x side grey values in 0..1. */
    pixels: (side) => downsample(pad, side),
  };
}
