// What a microscopy run shows as it trains, from its frames (the network's output for the
// probe image, a validation image) and its epochs. Segmentation: the probe image, the
// predicted foreground probability (and, with three classes, the boundary's), the mask at a
// threshold the slider sets (redrawn at once, here in the page), and the truth's outline;
// a chart of Dice and IoU, and of pixel accuracy beside "all background". Restoration: the
// noisy image, the restored one, the clean one and the error map |restored - clean|; a chart
// of PSNR and SSIM. At the end, the scores beside the baselines'.

import { DICE_AXES, DICE_SERIES, PSNR_AXES, PSNR_SERIES, createScopeChart, restorationScores,
  segmentationScores } from "./scopecharts.js";
import { textEl } from "./pixels.js";
import { channel, difference, figure, foreground, fromBytes, paintGrey, paintMask, paintOutline, paintProbability,
  paintValues, scopeCanvas } from "./scopepixels.js";

const LESSON = "Pixel accuracy misleads: most pixels are background, so answering \u201cbackground\u201d everywhere "
  + "already scores the dashed line; Dice and IoU count only the nuclei, and start near 0.";

function block(testId, title) {
  const div = document.createElement("div");
  div.dataset.testid = testId;
  div.className = "scope-block";
  div.append(textEl("h3", title));
  return div;
}

function row(...figures) {
  const div = document.createElement("div");
  div.className = "scope-row";
  div.append(...figures);
  return div;
}

/** hooks: {root, data(): the previewed data or null, onThreshold(t)}. */
export function createScopeViews({ root, data, onThreshold = () => {} }) {
  let frame = null, probability = null, kind = null;

  // Segmentation.
  const seg = block("segmentation", "The probe image (a validation image), as the network sees it");
  const probe = scopeCanvas(64, 64, "the probe image");
  const prob = scopeCanvas(64, 64, "predicted foreground probability");
  const boundary = scopeCanvas(64, 64, "predicted boundary probability");
  const mask = scopeCanvas(64, 64, "the mask at the threshold");
  const truth = scopeCanvas(64, 64, "the true outlines over the image");
  const boundaryFigure = figure(boundary, "the boundary class's probability", "boundary-probability");
  boundaryFigure.hidden = true; // three classes only
  const maskCaption = textEl("span", "");
  const maskFigure = figure(mask, "", "mask");
  maskFigure.lastChild.append(maskCaption);
  const slider = Object.assign(document.createElement("input"), { type: "range", min: 0, max: 1, step: 0.01, value: 0.5 });
  slider.dataset.testid = "threshold";
  slider.setAttribute("aria-label", "Threshold of the mask");
  const shown = textEl("output", "0.50");
  const threshold = document.createElement("label");
  threshold.className = "threshold";
  threshold.title = "A pixel is foreground when its probability is above this";
  threshold.append("Threshold ", slider, shown);
  const diceDiv = document.createElement("div");
  diceDiv.className = "scope-chart";
  diceDiv.dataset.testid = "dice-chart";
  seg.append(row(figure(probe, "the probe image"), figure(prob, "predicted probability of a nucleus", "probability"),
    boundaryFigure, maskFigure, figure(truth, "the true outlines", "truth")), threshold, diceDiv,
  textEl("p", LESSON, "scope-lesson"));
  const dice = createScopeChart(diceDiv, "validation: Dice, IoU and pixel accuracy", DICE_SERIES, DICE_AXES);

  // Restoration.
  const res = block("restoration", "The probe image (a validation image): noisy, restored, clean");
  const noisy = scopeCanvas(64, 64, "the noisy image");
  const restored = scopeCanvas(64, 64, "the restored image");
  const clean = scopeCanvas(64, 64, "the clean image");
  const error = scopeCanvas(64, 64, "the error map");
  const errorCaption = textEl("figcaption", "|restored − clean|");
  const errorFigure = figure(error, "", "error-map");
  errorFigure.lastChild.replaceWith(errorCaption);
  const psnrDiv = document.createElement("div");
  psnrDiv.className = "scope-chart";
  psnrDiv.dataset.testid = "psnr-chart";
  res.append(row(figure(noisy, "noisy (the input)"), figure(restored, "restored (the network)", "restored"),
    figure(clean, "clean (the truth)"), errorFigure), psnrDiv);
  const psnr = createScopeChart(psnrDiv, "validation: PSNR and SSIM", PSNR_SERIES, PSNR_AXES);

  const scores = document.createElement("div");
  scores.dataset.testid = "scores";
  root.replaceChildren(seg, res, scores);

  const value = () => Number(slider.value);
  slider.oninput = () => {
    shown.textContent = value().toFixed(2);
    drawMask();
    onThreshold(value());
  };

  function drawMask() {
    if (!probability) return;
    paintMask(mask, probability, frame.output.height, frame.output.width, value());
    const on = probability.reduce((n, p) => n + (p > value() ? 1 : 0), 0);
    maskCaption.textContent = `the mask: probability above ${value().toFixed(2)} (${(100 * on / probability.length).toFixed(1)} % of pixels)`;
  }

  /** The draft's kind ("segmentation" | "restoration"): which view shows. */
  function setKind(next) {
    kind = next;
    seg.hidden = kind !== "segmentation";
    res.hidden = kind !== "restoration";
  }

  /** The previewed data changed (or is gone): the probe's image and truth. */
  function showData() {
    const d = data();
    if (!d) return;
    const { h, w } = d;
    if (d.kind === "segmentation") {
      paintGrey(probe, d.probeImage, 0, h, w);
      paintOutline(truth, d.probeImage, d.probeTruth, 0, h, w);
    } else {
      paintGrey(noisy, d.probeImage, 0, h, w);
      paintGrey(clean, d.probeTruth, 0, h, w);
    }
    if (frame) showFrame(frame);
  }

  function showSegmentation(out) {
    const { height: h, width: w } = out;
    probability = foreground(out);
    paintProbability(prob, probability, h, w);
    boundaryFigure.hidden = out.channels !== 3;
    if (out.channels === 3) paintProbability(boundary, channel(out, 2), h, w);
    drawMask();
  }

  function showRestoration(out) {
    const { height: h, width: w } = out;
    const values = channel(out, 0);
    const d = data();
    if (!d || d.h !== h || d.w !== w) { paintValues(restored, values, h, w, out.low, out.high); return; }
    // The clean image's own range (else the output's): restored and clean on one scale.
    const [low, high] = d.probe.truthRange ?? [out.low, out.high];
    paintValues(restored, values, h, w, low, high);
    const cleanValues = fromBytes(d.probeTruth, low, high);
    const { values: err } = difference(values, cleanValues);
    const most = (high - low) / 2 || 1;
    paintValues(error, err, h, w, 0, most);
    errorCaption.textContent = `the error |restored − clean|: black 0, white ${most.toPrecision(2)} or more`;
  }

  /** A frame of the run: the network's output for the probe image. */
  function showFrame(next) {
    frame = next;
    if (next.output.channels === 1 && kind === "restoration") showRestoration(next.output);
    else if (kind === "segmentation") showSegmentation(next.output);
  }

  function showEpoch(event) {
    if (!event.extras) return;
    (kind === "restoration" ? psnr : dice).add(event);
  }

  function showDone(done) {
    if (done.metric_name === "dice") scores.replaceChildren(segmentationScores(done));
    else if (done.metric_name === "psnr") scores.replaceChildren(restorationScores(done));
  }

  function clear() {
    frame = null;
    probability = null;
    for (const c of [prob, boundary, mask, restored, error]) c.getContext("2d").clearRect(0, 0, c.width, c.height);
    maskCaption.textContent = "the mask";
    dice.clear();
    psnr.clear();
    scores.replaceChildren();
  }

  clear();
  return { setKind, showData, showFrame, showEpoch, showDone, clear, threshold: value,
    chartPoints: () => (kind === "restoration" ? psnr : dice).points() };
}
