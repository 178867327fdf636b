// Microscopy images on canvases (one canvas pixel per image pixel, CSS scales them up):
// a network's output map read as numbers, a probability as colour, a mask at a threshold,
// a truth's outline over its image, an error map. Everything is drawn from bytes the
// server sent (checked by unetspec.js) or numbers computed from them; nothing is HTML.

import { SEQUENTIAL } from "./colors.js";
import { decodeBase64 } from "./pixels.js";

const OUTLINE = [230, 159, 0]; // the palette's orange: the truth's boundary over a grey image

/** A canvas of h x w pixels, shown as `className` says (CSS: class "pixels"). */
export function scopeCanvas(h, w, label = "") {
  const canvas = document.createElement("canvas");
  canvas.width = w;
  canvas.height = h;
  canvas.className = "pixels";
  if (label) canvas.setAttribute("aria-label", label);
  return canvas;
}

/** Channel `c` of an ImageMap as numbers (Float32Array h*w), mapped back from its [low, high]. */
export function channel(map, c = 0, bytes = decodeBase64(map.data)) {
  const n = map.height * map.width, out = new Float32Array(n), span = map.high - map.low;
  for (let i = 0; i < n; i++) out[i] = map.low + (bytes[c * n + i] / 255) * span;
  return out;
}

/** The foreground probability of a segmentation output: its one channel, or 1 - background
 * of three (background, interior, boundary). */
export function foreground(map) {
  const bytes = decodeBase64(map.data);
  const first = channel(map, 0, bytes);
  if (map.channels === 1) return first;
  for (let i = 0; i < first.length; i++) first[i] = 1 - first[i];
  return first;
}

function put(canvas, h, w, colour) {
  if (canvas.width !== w) canvas.width = w;
  if (canvas.height !== h) canvas.height = h;
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(w, h);
  const px = image.data;
  for (let i = 0; i < h * w; i++) {
    const [r, g, b] = colour(i);
    px[i * 4] = r; px[i * 4 + 1] = g; px[i * 4 + 2] = b; px[i * 4 + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
  return canvas;
}

const clamp = (v) => Math.max(0, Math.min(255, Math.round(v)));

/** Numbers from [low, high] as grey (lut: null) or through a colour table. */
export function paintValues(canvas, values, h, w, low, high, lut = null) {
  const scale = 255 / ((high - low) || 1);
  return put(canvas, h, w, (i) => {
    const v = clamp((values[i] - low) * scale);
    return lut ? [lut[v * 3], lut[v * 3 + 1], lut[v * 3 + 2]] : [v, v, v];
  });
}

/** A probability (0..1) in the sequential colours: dark purple 0, yellow 1. */
export const paintProbability = (canvas, values, h, w) => paintValues(canvas, values, h, w, 0, 1, SEQUENTIAL);

/** The mask at `threshold`: white where the probability is above it, black elsewhere. */
export function paintMask(canvas, values, h, w, threshold) {
  return put(canvas, h, w, (i) => (values[i] > threshold ? [255, 255, 255] : [0, 0, 0]));
}

/** The mask's bytes (0 or 255) at `threshold`, for a PNG to download. */
export function maskBytes(values, threshold) {
  return Uint8Array.from(values, (v) => (v > threshold ? 255 : 0));
}

/** Grey bytes (an image as sent: 0..255). */
export function paintGrey(canvas, bytes, offset, h, w) {
  return put(canvas, h, w, (i) => { const v = bytes[offset + i]; return [v, v, v]; });
}

/** The truth's outline over its image: boundary pixels (class 2) of a class map, or, when the
 * map has none, the foreground pixels (class > 0) next to a background one. */
export function paintOutline(canvas, image, classes, offset, h, w) {
  let marked = false;
  for (let i = 0; i < h * w && !marked; i++) marked = classes[offset + i] === 2;
  const at = (y, x) => (y < 0 || x < 0 || y >= h || x >= w ? 0 : classes[offset + y * w + x]);
  const edge = (i) => {
    const y = Math.floor(i / w), x = i % w, c = classes[offset + i];
    if (marked) return c === 2;
    return c > 0 && (at(y - 1, x) === 0 || at(y + 1, x) === 0 || at(y, x - 1) === 0 || at(y, x + 1) === 0);
  };
  return put(canvas, h, w, (i) => { const v = image[offset + i]; return edge(i) ? OUTLINE : [v, v, v]; });
}

/** Bytes of a grey image (0..255) back to numbers in [low, high]. */
export function fromBytes(bytes, low, high, offset = 0, n = bytes.length - offset) {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = low + (bytes[offset + i] / 255) * (high - low);
  return out;
}

/** |a - b| pixel by pixel, and its largest value. */
export function difference(a, b) {
  const out = new Float32Array(a.length);
  let most = 0;
  for (let i = 0; i < a.length; i++) { out[i] = Math.abs(a[i] - b[i]); if (out[i] > most) most = out[i]; }
  return { values: out, most };
}

/** Numbers in [low, high] as grey bytes (a PNG of a restored image). */
export function toBytes(values, low, high) {
  const scale = 255 / ((high - low) || 1);
  return Uint8Array.from(values, (v) => clamp((v - low) * scale));
}

/** A PNG (Blob) of grey bytes h x w, made by a canvas. */
export function pngOf(bytes, h, w) {
  const canvas = paintGrey(scopeCanvas(h, w), bytes, 0, h, w);
  return new Promise((resolve, reject) => canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error(
    "The browser could not make the PNG."))), "image/png"));
}

/** A figure: a canvas (or any element) with a caption as text. */
export function figure(content, caption, testId = "") {
  const f = document.createElement("figure");
  const c = document.createElement("figcaption");
  c.textContent = caption;
  f.append(content, c);
  if (testId) f.dataset.testid = testId;
  return f;
}
