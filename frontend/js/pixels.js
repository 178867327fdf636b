// Small images on canvases: a canvas holds an image at its own size (one canvas pixel per
// image pixel) and CSS scales it up without smoothing (class "pixels"), so what is drawn
// is exactly what the server sent.

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
 * lookup table, an image: 0 white, 255 black (ink dark on paper). */
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
      px[o] = px[o + 1] = px[o + 2] = 255 - v;
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
