// Paints a uint8 grid (base64, row-major, bottom row first) onto a canvas through a
// colour lookup table: one putImageData, then the browser scales it smoothly.

export function decodeBase64(text) {
  const raw = atob(text);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

const scratch = new Map(); // side -> an offscreen canvas of that size

function offscreen(side) {
  let entry = scratch.get(side);
  if (!entry) {
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = side;
    const ctx = canvas.getContext("2d");
    entry = { canvas, ctx, image: ctx.createImageData(side, side) };
    scratch.set(side, entry);
  }
  return entry;
}

/** Draw `bytes` (side x side) into ctx's whole canvas (or the box x, y, w, h). */
export function paintGrid(ctx, bytes, side, lut, box = null) {
  const { canvas, ctx: octx, image } = offscreen(side);
  const px = image.data;
  for (let row = 0; row < side; row++) {
    const src = (side - 1 - row) * side; // the bottom row comes first; the canvas starts at the top
    for (let col = 0; col < side; col++) {
      const v = bytes[src + col] * 3;
      const o = (row * side + col) * 4;
      px[o] = lut[v]; px[o + 1] = lut[v + 1]; px[o + 2] = lut[v + 2]; px[o + 3] = 255;
    }
  }
  octx.putImageData(image, 0, 0);
  const [x, y, w, h] = box ?? [0, 0, ctx.canvas.width, ctx.canvas.height];
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(canvas, x, y, w, h);
}
