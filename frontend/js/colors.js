// Colour-blind-safe colours (Okabe-Ito): orange and blue for the two classes, as
// TensorFlow Playground does; more classes take the palette's other hues.

export const CLASS_COLORS = ["#E69F00", "#0072B2", "#009E73", "#CC79A7", "#D55E00"];
const CLASS_RGB = CLASS_COLORS.map(hexToRgb);
const WHITE = [255, 255, 255];

function hexToRgb(hex) {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

function mix(a, b, t) {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

function table(fn) {
  const lut = new Uint8ClampedArray(256 * 3);
  for (let v = 0; v < 256; v++) lut.set(fn(v / 255).map(Math.round), v * 3);
  return lut;
}

// A byte (0..255) -> RGB lookup tables, built once.
// Diverging: 0 = orange (class 0), 0.5 = white, 1 = blue (class 1); washed out so points stay visible.
export const DIVERGING = table((t) => mix(
  t < 0.5 ? mix(CLASS_RGB[0], WHITE, t * 2) : mix(WHITE, CLASS_RGB[1], (t - 0.5) * 2), WHITE, 0.3));
// Discretized at 0.5: flat light orange or light blue.
export const DISCRETE = table((t) => mix(t < 0.5 ? CLASS_RGB[0] : CLASS_RGB[1], WHITE, 0.55));
// Sequential for regression values (a viridis approximation): dark purple to yellow.
const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
export const SEQUENTIAL = table((t) => {
  const x = t * (VIRIDIS.length - 1);
  const i = Math.min(Math.floor(x), VIRIDIS.length - 2);
  return mix(VIRIDIS[i], VIRIDIS[i + 1], x - i);
});
// Class index -> light class colour (multi-class boundaries).
export const CLASS_AREAS = (() => {
  const lut = new Uint8ClampedArray(256 * 3).fill(255);
  CLASS_RGB.forEach((rgb, i) => lut.set(mix(rgb, WHITE, 0.55).map(Math.round), i * 3));
  return lut;
})();

/** Colour of a data point: its class, or for regression its value within [low, high]. */
export function pointColor(label, kind, low = 0, high = 1) {
  if (kind !== "regression") return CLASS_COLORS[label] ?? "#000";
  const v = Math.max(0, Math.min(255, Math.round(((label - low) / ((high - low) || 1)) * 255)));
  return `rgb(${SEQUENTIAL[v * 3]},${SEQUENTIAL[v * 3 + 1]},${SEQUENTIAL[v * 3 + 2]})`;
}

/** A weight's colour: blue positive, orange negative. */
export function weightColor(w) {
  return w >= 0 ? CLASS_COLORS[1] : CLASS_COLORS[0];
}
