// The demo screen's shared run, large: its training points under its boundary (the data a
// run of its spec draws, from POST /api/preview/data) with the data set's true boundary
// dashed when the server knows one; its epoch and figures named and formatted by its
// problem kind; its state in words; its loss and metric curves, sized to their boxes.
// An image run shows instead what the participant's page shows of it (imageviews.js), larger:
// its filters, the probe image with its feature maps and probabilities, the test images
// with the misclassified first (from the same POST /api/preview/data), and at its end the
// confusion matrix.

import { api } from "./api.js";
import { BoundaryView } from "./boundary.js";
import { Curves } from "./charts.js";
import { imageApi } from "./imageapi.js";
import { previewImages } from "./imagedata.js";
import { imageEntry } from "./imagespec.js";
import { confusionTable, createImageViews } from "./imageviews.js";
import { foldEvent, formatMetric, metricName, metricTitle, runState, stateWords } from "./metrics.js";
import { coerceSpec, toNumber } from "./sanitize.js";
import { problemKindOf, specToSend } from "./spec.js";
import { RunStream, goneMessage } from "./stream.js";

const $ = (id) => document.getElementById(id);
const POINT_RADIUS = 6; // canvas pixels of the 640 x 640 plot: dots seen from the back row
const MAX_ROWS = 100_000; // more points than any spec may have: the rest are dropped

/** The participant page's curves, but as large as their boxes (no fixed height) and in big type. */
class FittedCurves extends Curves {
  layout(title, yaxis) {
    const layout = super.layout(title, yaxis);
    delete layout.height;
    const size = Math.round(Math.max(14, Math.min(26, innerHeight / 48)));
    return { ...layout, autosize: true, font: { ...layout.font, size },
      title: { ...layout.title, font: { ...layout.title.font, size: size + 2 } },
      margin: { l: 3.6 * size, r: 12, t: 2.6 * size, b: 2.8 * size } };
  }
}

// ----- what the server sends, checked (sanitize.js's rules for numbers)
const finiteRow = (row, n) => Array.isArray(row) && row.length >= n
  && row.slice(0, n).every((v) => Number.isFinite(toNumber(v)));
const numbers = (row, n) => row.slice(0, n).map(toNumber);

function coerceRows(rows) {
  return Array.isArray(rows) ? rows.slice(0, MAX_ROWS).filter((r) => finiteRow(r, 3)).map((r) => numbers(r, 3)) : [];
}

/** true_boundary: a list of polylines of [x1, x2] points, or null. */
function coerceLines(lines) {
  if (!Array.isArray(lines)) return null;
  const kept = lines.filter(Array.isArray).map((line) => line.slice(0, MAX_ROWS).filter((p) => finiteRow(p, 2))
    .map((p) => numbers(p, 2))).filter((line) => line.length >= 2);
  return kept.length ? kept : null;
}

function coerceExtent(extent) {
  if (!finiteRow(extent, 4)) return null;
  const [x0, x1, y0, y1] = numbers(extent, 4);
  return x0 < x1 && y0 < y1 ? [x0, x1, y0, y1] : null;
}

/** hooks: {catalog: a promise of the catalog (or null), onChange(runId, shown): its state or
 * end changed, control(): the shared run's {id, token} when this browser holds it, else null}. */
export function createSharedRun({ catalog, onChange = () => {}, control = () => null }) {
  // The participant page's plot: its points, frames and the true boundary (data.truth), dashed.
  const boundary = new BoundaryView($("p-boundary"), { radius: POINT_RADIUS });
  boundary.setOptions({ trueBoundary: true });
  const curves = new FittedCurves($("p-loss"), $("p-metric"));
  for (const div of [$("p-loss"), $("p-metric")]) {
    // A box that changes size (a figure appears, the wall is hidden) takes its plot along.
    new ResizeObserver(() => { if (window.Plotly && div._fullLayout) Plotly.Plots.resize(div); }).observe(div);
  }
  const current = { runId: null, stream: null, shown: runState(), spec: null, data: null, trueBoundary: null,
    image: null, images: null, lastFrame: null }; // image: the catalog entry of an image run's data set
  const views = createImageViews({
    api: imageApi, data: () => current.images,
    run: () => { const c = control(); return c && c.id === current.runId && c.token ? { id: c.id, token: c.token } : null; },
    roots: { filters: $("p-filters"), maps: $("p-maps"), probe: $("p-probe"), gallery: $("p-gallery"),
      summary: $("p-gallery-summary") },
    scale: Math.max(1, Math.min(2, innerHeight / 600)), // a projector's back row
    onProblem: (problems) => { $("p-error").textContent = problems.map((p) => p.msg).join("; "); },
  });

  /** The board: the plane of points, or an image run's views. */
  function setMode(entry) {
    current.image = entry;
    $("p-stage").classList.toggle("images", Boolean(entry));
    $("p-boundary").hidden = Boolean(entry);
    $("p-images").hidden = !entry;
    $("p-board").setAttribute("aria-label", entry ? "The instructor's run: its filters, feature maps and test images"
      : "The instructor's run: its points and boundary");
  }

  function label(kind) {
    const name = metricName(kind);
    $("p-train-label").textContent = `train ${name}`;
    $("p-val-label").textContent = `validation ${name}`;
    $("p-test-label").textContent = `test ${name}`;
    curves.setMetricName(metricTitle(kind));
  }

  function reset() {
    current.stream?.close();
    Object.assign(current, { stream: null, shown: runState(), spec: null, data: null, trueBoundary: null,
      images: null, lastFrame: null });
    curves.clear();
    boundary.setFrame(null);
    boundary.setData(null);
    setMode(null);
    views.setData(null);
    $("p-confusion").hidden = true;
    $("p-confusion").replaceChildren();
    $("p-images").classList.remove("ended");
    $("p-epoch").textContent = "0";
    $("p-train").textContent = $("p-val").textContent = $("p-test").textContent = "–";
    $("p-test-figure").hidden = true;
    $("p-state").textContent = "";
    $("p-data-note").textContent = "";
    label(null);
  }

  /** The points a run of `spec` trains on, and the data set's true boundary when known. */
  async function showData(runId, spec, kind) {
    try {
      const previewed = await api.previewData(specToSend(spec));
      if (current.runId !== runId) return;
      const truth = coerceLines(previewed?.true_boundary);
      const data = { kind, extent: coerceExtent(previewed?.extent), train: coerceRows(previewed?.train), val: [], test: [],
        truth };
      current.data = data;
      current.trueBoundary = truth;
      boundary.setData(data);
      $("p-data-note").textContent = `${data.train.length} training points`
        + (current.trueBoundary ? "; dashed: the true boundary" : "");
    } catch (err) {
      if (current.runId === runId) $("p-data-note").textContent = `The run's points could not be shown: ${err.message}`;
    }
  }

  /** The images a run of `spec` is tested on: the gallery and the probe's pictures. */
  async function showImages(runId, spec, entry) {
    try {
      const data = await previewImages(imageApi, spec);
      if (current.runId !== runId) return;
      current.images = data;
      views.setData(data);
      if (current.lastFrame) views.showFrame(current.lastFrame); // frames that came first
      $("p-data-note").textContent = `${entry.title ?? spec.dataset.name}: ${data.h}×${data.w} pixels, `
        + `${data.classes.length} classes; ${data.gallery.count} test images, the misclassified first`;
    } catch (err) {
      if (current.runId === runId) $("p-data-note").textContent = `The run's images could not be shown: ${err.message}`;
    }
  }

  /** An image run's end: its confusion matrix beside the test images. */
  function showConfusion(done) {
    if (!done.confusion_matrix) return;
    const classes = current.images?.classes ?? (Array.isArray(current.image?.classes) ? current.image.classes : null);
    $("p-confusion").replaceChildren(confusionTable(done.confusion_matrix, classes, classes && done.per_class_accuracy));
    $("p-confusion").hidden = false;
    $("p-images").classList.add("ended");
  }

  function showFigures() {
    const { shown } = current;
    $("p-epoch").textContent = shown.epoch;
    $("p-train").textContent = formatMetric(shown.metric, shown.kind);
    $("p-val").textContent = formatMetric(shown.valMetric, shown.kind);
    const ended = shown.done?.kind === "done";
    $("p-test-figure").hidden = !ended || typeof shown.testMetric !== "number";
    $("p-test").textContent = formatMetric(shown.testMetric, shown.kind);
  }

  function showState() {
    const { shown } = current;
    const message = shown.done?.message;
    $("p-state").textContent = stateWords(shown.state) + (message ? `: ${message}` : "");
  }

  /** Watch run `runId` (null: none). */
  async function watch(runId) {
    if (current.runId === runId) return;
    current.runId = runId;
    reset();
    if (!runId) return;
    const [run, known] = await Promise.all([api.getRun(runId).catch(() => null), catalog]);
    if (current.runId !== runId) return; // another run was shared meanwhile
    const spec = run && known ? coerceSpec(run.spec, known).spec : null;
    // Its figures are shown by its own problem kind (an MAE as a number, not a percentage).
    const kind = spec ? problemKindOf(spec, known) : null;
    current.spec = spec;
    current.shown = runState(kind);
    label(kind);
    const entry = spec ? imageEntry(spec, known) : null;
    setMode(entry);
    if (entry) showImages(runId, spec, entry);
    else if (spec) showData(runId, spec, kind);
    const shown = current.shown;
    current.stream = new RunStream(runId, {
      onGone: (closeCode, reason) => { $("p-state").textContent = goneMessage("run", closeCode, reason); },
      onEvent: (event) => {
        foldEvent(shown, event);
        // Epoch 0 (the untrained network) is the curves' first point, as on the participant's page.
        if (event.kind === "epoch" || (event.kind === "start" && !curves.epochs.length)) {
          curves.add(event);
          showFigures();
        } else if (event.kind === "frame") {
          boundary.setFrame(event, shown.kind);
        } else if (event.kind === "image_frame") { // filters, feature maps, probe, gallery
          current.lastFrame = event;
          views.showFrame(event);
        } else if (["status", "done", "error"].includes(event.kind)) {
          if (event.kind === "done" && shown.kind !== kind) label(shown.kind); // known only now
          if (event.kind === "done" && current.image) showConfusion(event);
          showFigures();
          showState();
          onChange(runId, shown);
        }
      },
    });
  }

  return { watch, current, boundary, views }; // `current`, `boundary` and `views` are read by the end-to-end tests
}
