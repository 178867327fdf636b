// What an image run shows as it trains, from its frames: the filters of each conv2d layer
// (the first layer's change visibly, frame by frame), the feature maps of the probe image
// layer by layer, the probe with its true class and the network's probabilities, and the
// gallery of test images (gallery.js). Clicking a gallery image makes it the probe: the run
// answers for it at once (POST /api/runs/{id}/predict) and its frames follow it. The
// demo screen shows the same views, larger, in its own elements (`roots`, `scale`); the
// confusion matrix at a run's end (`confusionTable`) is the participant page's and its.

import { DIVERGING, SEQUENTIAL } from "./colors.js";
import { createGallery } from "./gallery.js";
import { coercePrediction } from "./imagespec.js";
import { problemsOf, report } from "./problems.js";
import { decodeBase64, paint, pixelCanvas, textEl } from "./pixels.js";

const $ = (id) => document.getElementById(id);
const GAP = 1; // canvas pixels between two filters' cells

/** Zoom for a canvas of `side` pixels to be shown about `target` CSS pixels wide (at most `most`). */
const zoom = (side, target, most = 12) => Math.max(1, Math.min(most, Math.floor(target / side)));

function sized(canvas, w, h, target, most = 12) {
  const z = zoom(Math.max(w, h), target, most);
  canvas.style.width = `${w * z}px`;
  canvas.style.height = `${h * z}px`;
  return canvas;
}

/** The confusion matrix (counts) as a table; an image data set names its classes and adds
 * each one's accuracy (`perClass`). Every cell is text. */
export function confusionTable(matrix, classes = null, perClass = null) {
  const name = (i) => (classes?.[i] === undefined ? `class ${i}` : String(classes[i]));
  const table = document.createElement("table");
  table.createCaption().textContent = "Test set: true class (rows) × predicted (columns)"
    + (perClass ? "; each class's accuracy" : "");
  const head = table.createTHead().insertRow();
  head.insertCell().textContent = "";
  matrix.forEach((_, j) => { head.insertCell().textContent = classes ? name(j) : `predicted ${j}`; });
  if (perClass) head.insertCell().textContent = "accuracy";
  const total = matrix.flat().reduce((a, b) => a + b, 0) || 1;
  const body = table.createTBody();
  matrix.forEach((row, i) => {
    const tr = body.insertRow();
    tr.insertCell().textContent = name(i);
    row.forEach((count, j) => {
      const cell = tr.insertCell();
      cell.textContent = count;
      cell.className = i === j ? "hit" : count ? "miss" : "";
      cell.style.setProperty("--share", String(count / total));
    });
    if (perClass) {
      const share = perClass[i];
      tr.insertCell().textContent = typeof share === "number" ? `${(share * 100).toFixed(0)} %` : "–";
    }
  });
  return table;
}

/** The participant page's elements for the views. */
const PAGE_ROOTS = () => ({ filters: $("filters"), maps: $("feature-maps"), probe: $("probe"), gallery: $("gallery"),
  summary: $("gallery-summary") });

/** hooks: {api, data(): the previewed images or null, run(): {id, token} or null; optional:
 * roots ({filters, maps, probe, gallery, summary}: elements, the page's by default), scale
 * (the views' sizes times this), onProblem(problems) (a failed answer; the page's list by default)}. */
export function createImageViews({ api, data, run, roots = PAGE_ROOTS(), scale = 1,
  onProblem = (problems) => report("predict", problems) }) {
  const filtersRoot = roots.filters, mapsRoot = roots.maps, probeRoot = roots.probe;
  const gallery = createGallery({ root: roots.gallery, summary: roots.summary, onPick: pick });
  let mapsKey = null, filtersKey = null;
  let mapCanvases = [], filterCanvases = [];
  let lastFrame = null;
  const counters = { frames: 0, filters: 0, maps: 0 }; // read by the end-to-end tests

  function drawFilters(sets) {
    const key = JSON.stringify(sets.map((f) => [f.layer, f.filters, f.channels, f.size]));
    if (key !== filtersKey) {
      filtersKey = key;
      filterCanvases = sets.map(() => pixelCanvas(1, 1, "filter-grid"));
      filtersRoot.replaceChildren(...sets.map((f, i) => {
        const block = document.createElement("figure");
        block.className = "filter-set";
        block.dataset.layer = f.layer;
        const words = f.channels === 1 ? `${f.filters} filters of ${f.size}×${f.size}`
          : `${f.filters} filters (rows) of ${f.size}×${f.size} × ${f.channels} input channels (columns)`;
        block.append(textEl("figcaption", `layer ${f.layer + 1}, conv2d: ${words}`), filterCanvases[i]);
        return block;
      }));
      if (!sets.length) filtersRoot.replaceChildren(textEl("p", "No conv2d layer: no filters to show.", "hint"));
    }
    sets.forEach((f, i) => {
      const bytes = decodeBase64(f.data);
      const k = f.size, cell = k + GAP;
      // One input channel: the filters side by side; more: a row per filter, a column per channel.
      const across = f.channels === 1 ? f.filters : f.channels, down = f.channels === 1 ? 1 : f.filters;
      const width = across * cell - GAP, height = down * cell - GAP;
      const canvas = filterCanvases[i];
      const full = new Uint8Array(width * height).fill(128);
      for (let q = 0; q < f.filters; q++) {
        for (let c = 0; c < f.channels; c++) {
          const from = (q * f.channels + c) * k * k;
          const [x, y] = f.channels === 1 ? [q * cell, 0] : [c * cell, q * cell];
          for (let r = 0; r < k; r++) full.set(bytes.subarray(from + r * k, from + r * k + k), (y + r) * width + x);
        }
      }
      paint(canvas, full, 0, height, width, DIVERGING);
      const z = Math.max(1, Math.min(Math.round(12 * scale), Math.floor((40 * scale) / k), Math.floor((360 * scale) / width),
        Math.floor((480 * scale) / height)));
      canvas.style.width = `${width * z}px`;
      canvas.style.height = `${height * z}px`;
      canvas.title = `weights from ${(-f.scale).toPrecision(2)} (orange) to ${f.scale.toPrecision(2)} (blue); white is 0`;
    });
    counters.filters++;
  }

  function drawMaps(maps) {
    const key = JSON.stringify(maps.map((m) => [m.layer, m.type, m.height, m.width, m.channels, m.total]));
    if (key !== mapsKey) {
      mapsKey = key;
      mapCanvases = [];
      mapsRoot.replaceChildren(...maps.map((m) => {
        const block = document.createElement("figure");
        block.className = "map-set";
        block.dataset.layer = m.layer;
        const shown = m.channels === 1 ? "1 map" : `${m.channels} of ${m.total} maps`;
        const row = document.createElement("div");
        row.className = "map-row";
        const canvases = Array.from({ length: m.channels },
          () => sized(pixelCanvas(m.height, m.width, "map"), m.width, m.height, 44 * scale, 12 * scale));
        mapCanvases.push(canvases);
        row.append(...canvases);
        block.append(textEl("figcaption", `layer ${m.layer + 1}, ${m.type} ${m.height}×${m.width}, ${shown}`), row);
        return block;
      }));
      if (!maps.length) mapsRoot.replaceChildren(textEl("p", "No conv2d or pooling layer: no feature maps.", "hint"));
    }
    maps.forEach((m, i) => {
      const bytes = decodeBase64(m.data);
      mapCanvases[i].forEach((canvas, c) => {
        paint(canvas, bytes, c * m.height * m.width, m.height, m.width, SEQUENTIAL);
        const [lo, hi] = m.ranges[c];
        canvas.title = `map ${c + 1}: from ${lo.toPrecision(3)} (dark) to ${hi.toPrecision(3)} (yellow)`;
      });
    });
    counters.maps++;
  }

  /** The probe: its image (bytes from offset), its true class (or what it is), the probabilities. */
  function drawProbe({ bytes, offset, truth, probabilities, note }) {
    const d = data();
    if (!d) return;
    const image = sized(paint(pixelCanvas(d.h, d.w, "probe-image"), bytes, offset, d.h, d.w), d.w, d.h,
      112 * scale, 12 * scale);
    const best = probabilities?.length ? probabilities.indexOf(Math.max(...probabilities)) : -1;
    const head = document.createElement("div");
    head.className = "probe-head";
    const words = document.createElement("div");
    words.append(textEl("div", truth === null ? "your image" : `true class: ${d.classes[truth] ?? truth}`, "probe-truth"));
    if (best >= 0) {
      words.append(textEl("div", `predicted: ${d.classes[best] ?? best}`
        + (truth === null ? "" : best === truth ? " (right)" : " (wrong)"), best === truth ? "probe-right" : "probe-wrong"));
    }
    if (note) words.append(textEl("div", note, "small"));
    head.append(image, words);
    const bars = document.createElement("div");
    bars.className = "probe-bars";
    bars.dataset.testid = "probabilities";
    (probabilities ?? []).forEach((p, c) => {
      const bar = document.createElement("span");
      bar.className = "bar";
      bar.style.width = `${Math.max(0, Math.min(1, p)) * 100}%`;
      const track = document.createElement("span");
      track.className = "bar-track";
      track.append(bar);
      const row = document.createElement("div");
      row.className = c === best ? "bar-row best" : "bar-row";
      row.append(textEl("span", d.classes[c] ?? String(c), "bar-name"), track, textEl("span", `${(p * 100).toFixed(1)} %`, "bar-value"));
      bars.append(row);
    });
    if (!probabilities) bars.append(textEl("p", "Train to see the network's answer for it.", "hint"));
    probeRoot.replaceChildren(head, bars);
  }

  /** A frame of the run: every view follows it. */
  function showFrame(frame) {
    lastFrame = frame;
    counters.frames++;
    drawFilters(frame.filters);
    drawMaps(frame.feature_maps);
    const d = data();
    if (frame.probe && d && frame.probe.index < d.gallery.count) {
      const { h, w } = d;
      drawProbe({ bytes: d.galleryBytes, offset: frame.probe.index * h * w, truth: frame.probe.label,
        probabilities: frame.probe.probabilities, note: `test image ${frame.probe.index}, epoch ${frame.epoch}` });
    }
    gallery.show(frame.gallery);
  }

  /** A prediction (`POST .../predict`'s answer): its image, probabilities and feature maps, at once. */
  function showAnswer(raw, truth = null, note = "") {
    const d = data();
    const answer = d && coercePrediction(raw, [d.h, d.w]);
    if (!answer) return;
    if (answer.feature_maps.length) drawMaps(answer.feature_maps);
    drawProbe({ bytes: answer.image ? decodeBase64(answer.image) : new Uint8Array(d.h * d.w), offset: 0, truth,
      probabilities: answer.probabilities, note: note || (answer.epoch === null ? "" : `after epoch ${answer.epoch}`) });
  }

  /** A gallery image clicked: with a run, the run's answer for it (it becomes the probe). */
  async function pick(k) {
    const d = data(), current = run();
    if (!d) return;
    if (!current) {
      drawProbe({ bytes: d.galleryBytes, offset: k * d.h * d.w, truth: d.gallery.labels[k], probabilities: null,
        note: `test image ${k}` });
      return;
    }
    try {
      const answer = await api.predict(current.id, current.token, { index: k });
      onProblem([]);
      showAnswer(answer, d.gallery.labels[k], `test image ${k}, now the probe`);
    } catch (err) {
      onProblem(problemsOf(err));
    }
  }

  /** The run is gone: no filters, maps or answers; the gallery shows true classes again. */
  function clear() {
    lastFrame = null;
    filtersKey = mapsKey = null;
    filtersRoot.replaceChildren(textEl("p", "The filters appear when training starts.", "hint"));
    mapsRoot.replaceChildren(textEl("p", "The feature maps of the probe image appear when training starts.", "hint"));
    probeRoot.replaceChildren(textEl("p", "Click a test image below to look at it.", "hint"));
    gallery.clear();
  }

  /** New images were previewed (or null while they are drawn). */
  function setData(next) {
    gallery.setData(next);
    clear();
  }

  clear();
  return { showFrame, showAnswer, clear, setData, counters, lastFrame: () => lastFrame };
}
