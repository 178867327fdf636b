// A microscopy run's figures: per epoch a chart of its validation scores (segmentation: Dice
// and IoU, and pixel accuracy beside what "all background" scores; restoration: PSNR and
// SSIM), and at its end the scores beside the baselines' (Otsu's threshold; the noisy image,
// a Gaussian and a median filter). Plotly draws the charts; the tables are text.

import { CLASS_COLORS } from "./colors.js";
import { textEl } from "./pixels.js";

const CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["select2d", "lasso2d"] };
const FONT = { family: "system-ui, sans-serif", size: 13 };
const MIN_INTERVAL_MS = 200;
const fixed = (v, digits = 3) => (typeof v === "number" && Number.isFinite(v) ? v.toFixed(digits) : "–");
const pct = (v) => (typeof v === "number" && Number.isFinite(v) ? `${(v * 100).toFixed(1)} %` : "–");

/** A chart of one run's epochs: `series` [{key, name, color, dash, axis}] read from each epoch. */
export function createScopeChart(div, title, series, yaxes) {
  let epochs = [], values = series.map(() => []), pending = false, drawnAt = -Infinity, revision = 0;

  function draw() {
    if (!window.Plotly) return;
    revision++;
    const traces = series.map((s, i) => ({ x: epochs, y: values[i], name: s.name, mode: "lines+markers",
      marker: { size: 4 }, line: { color: s.color, width: 2.2, dash: s.dash }, yaxis: s.axis ?? "y" }));
    Plotly.react(div, traces, {
      title: { text: title, font: { ...FONT, size: 14 }, x: 0.02 }, font: FONT, height: 230,
      margin: { l: 48, r: yaxes.yaxis2 ? 48 : 10, t: 32, b: 36 }, xaxis: { title: { text: "epoch" }, rangemode: "tozero" },
      ...yaxes, legend: { orientation: "h", x: 0, y: -0.3 }, uirevision: "keep", datarevision: revision,
      paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "#fff",
    }, CONFIG);
  }

  function request() {
    if (pending) return;
    pending = true;
    setTimeout(() => requestAnimationFrame(() => { pending = false; drawnAt = performance.now(); draw(); }),
      Math.max(0, MIN_INTERVAL_MS - (performance.now() - drawnAt)));
  }

  return {
    add(event) {
      epochs.push(event.epoch);
      series.forEach((s, i) => { values[i].push(s.read(event) ?? null); });
      request();
    },
    clear() { epochs = []; values = series.map(() => []); request(); },
    points: () => epochs.length,
  };
}

const extra = (key) => (e) => e.extras?.[key] ?? null;

export const DICE_SERIES = [
  { name: "validation Dice", read: (e) => e.val_metric, color: CLASS_COLORS[1] },
  { name: "validation IoU", read: extra("val_iou"), color: CLASS_COLORS[2] },
  { name: "pixel accuracy", read: extra("val_pixel_accuracy"), color: CLASS_COLORS[0] },
  { name: "all background", read: extra("background_accuracy"), color: "#888", dash: "dash" },
];
export const DICE_AXES = { yaxis: { range: [0, 1.02] } };
export const PSNR_SERIES = [
  { name: "validation PSNR (dB)", read: (e) => e.val_metric, color: CLASS_COLORS[1] },
  { name: "validation SSIM", read: extra("val_ssim"), color: CLASS_COLORS[0], dash: "dot", axis: "y2" },
];
export const PSNR_AXES = { yaxis: { title: { text: "PSNR (dB)" } },
  yaxis2: { title: { text: "SSIM" }, overlaying: "y", side: "right", range: [0, 1.02] } };

function table(caption, head, rows) {
  const t = document.createElement("table");
  t.className = "scores";
  t.createCaption().textContent = caption;
  const tr = t.createTHead().insertRow();
  for (const h of head) tr.append(textEl("th", h));
  const body = t.createTBody();
  for (const { cells, mine } of rows) {
    const row = body.insertRow();
    if (mine) row.className = "mine";
    cells.forEach((c, i) => { row.insertCell().textContent = c; if (i) row.cells[i].className = "number"; });
  }
  return t;
}

/** The scores of a finished segmentation run beside its baselines, as a table. */
export function segmentationScores(done) {
  const otsu = done.baselines?.otsu?.dice;
  return table("Test images: the network beside the baselines", ["measure", "the network", "baseline"], [
    { cells: ["Dice", fixed(done.dice), `Otsu's threshold: ${fixed(otsu)}`], mine: true },
    { cells: ["IoU", fixed(done.iou), "–"] },
    { cells: ["pixel accuracy", pct(done.pixel_accuracy), `all background: ${pct(done.background_accuracy)}`] },
    { cells: ["nuclei found", done.instances ?? "–", `true: ${done.true_instances ?? "–"}`] },
    { cells: ["instance F1", fixed(done.instance_f1), "–"] },
  ]);
}

/** The scores of a finished restoration run beside the noisy image's and two filters'. */
export function restorationScores(done) {
  const b = done.baselines ?? {};
  const row = (name, s, mine = false) => ({ cells: [name, fixed(s?.psnr, 2), fixed(s?.ssim)], mine });
  return table("Test images: PSNR (higher is better) and SSIM (1 is perfect)", ["", "PSNR (dB)", "SSIM"], [
    row("the network", { psnr: done.psnr, ssim: done.ssim }, true), row("the noisy image", b.noisy),
    row("Gaussian filter", b.gaussian), row("median filter", b.median),
  ]);
}
