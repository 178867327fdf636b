// Small images on canvases: a canvas holds an image at its own size (one canvas pixel per
// image pixel) and CSS scales it up without smoothing (class "pixels"), so what is drawn
// is exactly what the server sent. An image is drawn as the network sees it, everywhere
// (the data panel, the gallery, the probe, the draw pad, the convolution panel): 0 black,
// 255 white, so the figures are light on a dark ground.

import { decodeBase64 } from "./grid.js";

export { decodeBase64 };

/** A canvas for an h x w image (CSS gives its shown size). */
export function pixelCanvas(h, w, className = "") {
  const canvas = document.createElement("canvas");
  canvas.width = w;
  canvas.height = h;
  canvas.className = `pixels ${className}`.trim();
  return canvas;
}

/** Paint h x w bytes of `bytes` from `offset` onto `canvas` (resized to fit). Without a
 * lookup table, an image as the network sees it: 0 black, 255 white. */
export function paint(canvas, bytes, offset, h, w, lut = null) {
  if (canvas.width !== w) canvas.width = w;
  if (canvas.height !== h) canvas.height = h;
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(w, h);
  const px = image.data;
  for (let i = 0; i < h * w; i++) {
    const v = bytes[offset + i] ?? 0;
    const o = i * 4;
    if (lut) { px[o] = lut[v * 3]; px[o + 1] = lut[v * 3 + 1]; px[o + 2] = lut[v * 3 + 2]; } else {
      px[o] = px[o + 1] = px[o + 2] = v;
    }
    px[o + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
  return canvas;
}

/** An element with text (no HTML is ever built from data). */
export function textEl(tag, text, className = "") {
  const el = document.createElement(tag);
  el.textContent = text;
  if (className) el.className = className;
  return el;
}

const MAX_FILTERS = 32;
const MAX_FILTER_SIZE = 16;
const FILTER_GAP = 3; // pixels between two filters, and around them

/** Conv filters of one input channel (uint8 [filters][size][size], 128 a weight of 0, darker
 * negative, lighter positive) as grey squares in a grid filling `canvas`; false when the
 * bytes do not fit. `ground`: a colour under them (none: transparent). The class wall's
 * tiles and the room bar's view of a shared image run. */
export function paintFilters(canvas, { filters: n, filter_size: size, filter_data: data }, ground = null) {
  if (!Number.isInteger(n) || !Number.isInteger(size) || n < 1 || n > MAX_FILTERS
      || size < 1 || size > MAX_FILTER_SIZE) return false;
  let bytes;
  try { bytes = typeof data === "string" ? decodeBase64(data) : data; } catch { return false; }
  if (!(bytes instanceof Uint8Array) || bytes.length !== n * size * size) return false;
  const cols = Math.ceil(Math.sqrt(n));
  const rows = Math.ceil(n / cols);
  const { width, height } = canvas;
  const gap = FILTER_GAP;
  const cell = Math.max(1, Math.floor(Math.min((width - gap * (cols + 1)) / cols, (height - gap * (rows + 1)) / rows)));
  const left = Math.floor((width - cols * cell - (cols - 1) * gap) / 2);
  const top = Math.floor((height - rows * cell - (rows - 1) * gap) / 2);
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, width, height);
  if (ground) { ctx.fillStyle = ground; ctx.fillRect(0, 0, width, height); }
  for (let f = 0; f < n; f++) {
    const x0 = left + (f % cols) * (cell + gap);
    const y0 = top + Math.floor(f / cols) * (cell + gap);
    for (let row = 0; row < size; row++) {
      const y = y0 + Math.round((row * cell) / size);
      const h = y0 + Math.round(((row + 1) * cell) / size) - y;
      for (let col = 0; col < size; col++) {
        const x = x0 + Math.round((col * cell) / size);
        const w = x0 + Math.round(((col + 1) * cell) / size) - x;
        const v = bytes[(f * size + row) * size + col];
        ctx.fillStyle = `rgb(${v}, ${v}, ${v})`;
        ctx.fillRect(x, y, w, h);
      }
    }
  }
  return true;
}
