// The big plot and the data: the data set's points (previewed by the server, or drawn by
// clicking), the run's boundary as its frames come, a hovered neuron's map and its
// caption; the drawing tools, new points, the data as CSV and a CSV uploaded. It owns the
// plot and those controls; the draft changes only through `edit`. The data set's true
// boundary (from the preview) is drawn dashed over it when the view asks for it.

import { api } from "./api.js";
import { BoundaryView, neuronOverlay } from "./boundary.js";
import { download } from "./code.js";
import { CLASS_COLORS } from "./colors.js";
import { problemsOf, report } from "./problems.js";
import { coercePoints, coerceTruth, warningFor } from "./sanitize.js";
import { problemKindOf, specToSend, splitCustom } from "./spec.js";

const $ = (id) => document.getElementById(id);
const DRAW_EXTENT = [-1.2, 1.2, -1.2, 1.2]; // where a custom data set is drawn before it trains
const ERASE_RADIUS = 20; // canvas pixels: erase the nearest point within it

/** hooks: {catalog, spec(): the draft, edit(change), onExtent(extent): the data's extent changed}. */
export function createDataView({ catalog, spec, edit, onExtent }) {
  const canvas = $("boundary");
  const boundary = new BoundaryView(canvas);
  let data = null; // the previewed points
  let frame = null, frameKind = null; // the run's newest frame, and its problem kind
  let hovering = null; // the network's hovered neuron
  let drawClass = 0, erasing = false;
  let dataRequest = 0;

  $("draw-classes").replaceChildren(...Array.from({ length: catalog.max_classes }, (_, c) => {
    const choice = document.createElement("button");
    choice.type = "button";
    choice.className = "draw-class";
    choice.dataset.drawClass = c;
    choice.style.setProperty("--class-color", CLASS_COLORS[c]);
    choice.textContent = `class ${c}`;
    choice.onclick = () => { drawClass = c; erasing = false; syncDrawTools(); };
    return choice;
  }));
  $("draw-erase").onclick = () => { erasing = !erasing; syncDrawTools(); };
  $("draw-clear").onclick = () => edit((s) => { s.dataset.points = []; splitCustom(s); });
  canvas.addEventListener("click", drawPoint);

  $("regenerate").onclick = () => edit((s) => {
    s.dataset.seed = (s.dataset.seed % 100000) + 1 + Math.floor(Math.random() * 1000);
  });
  $("download-data").onclick = () => {
    if (!data) return;
    const rows = ["split,x1,x2,label"];
    for (const split of ["train", "val", "test"]) for (const p of data[split]) rows.push(`${split},${p.join(",")}`);
    download(`${spec().dataset.name}.csv`, rows.join("\n") + "\n", "text/csv");
  };
  $("upload").onchange = uploadCsv;

  /** Show the points of the draft `s` (a drawn set at once; others as the server draws them). */
  async function showData(s) {
    const ticket = ++dataRequest;
    clearFrame();
    if (s.dataset.name === "custom") {
      data = { kind: problemKindOf(s, catalog), extent: DRAW_EXTENT, train: [...(s.dataset.points || [])], val: [], test: [],
        truth: null };
      boundary.setData(data);
      onExtent(boundary.extent);
      return;
    }
    try {
      const previewed = await api.previewData(specToSend(s));
      if (ticket !== dataRequest) return; // a newer change is on its way
      data = { ...previewed, truth: coerceTruth(previewed.true_boundary) };
      boundary.setData(data);
      onExtent(data.extent);
      report("data", []);
    } catch (err) {
      if (ticket === dataRequest) report("data", problemsOf(err));
    }
  }

  /** A frame of the run, drawn with the colours of the run's problem kind. */
  function showFrame(next, kind) {
    frame = next;
    frameKind = kind;
    boundary.setFrame(next, kind);
    if (hovering) hover(hovering);
  }

  function clearFrame() {
    frame = null;
    frameKind = null;
    boundary.setFrame(null);
    if (hovering) hover(hovering);
  }

  /** The network's hovered neuron ({layer, unit}, {output: true} or null): its map, large. */
  function hover(target) {
    hovering = target;
    if (!target || target.output || !frame) {
      boundary.setOverlay(null);
      if (frame) boundary.setFrame(frame, frameKind);
      $("boundary-caption").textContent = "";
      return;
    }
    boundary.setOverlay(neuronOverlay(frame, target.layer, target.unit));
    const range = frame.neuron_ranges[target.layer]?.[target.unit];
    $("boundary-caption").textContent = `layer ${target.layer + 1}, neuron ${target.unit + 1}`
      + (range ? ` (orange ${range[0].toFixed(2)} … blue ${range[1].toFixed(2)})` : "");
  }

  function syncDrawTools() {
    document.querySelectorAll(".draw-class").forEach((b) => {
      b.setAttribute("aria-checked", String(!erasing && Number(b.dataset.drawClass) === drawClass));
    });
    $("draw-erase").setAttribute("aria-pressed", String(erasing));
    canvas.classList.toggle("drawing", spec().dataset.name === "custom");
  }

  /** Show the drawing tools for a drawn data set. */
  function sync(s) {
    $("custom-tools").hidden = s.dataset.name !== "custom";
    syncDrawTools();
  }

  function drawPoint(event) {
    if (spec().dataset.name !== "custom") return;
    const box = canvas.getBoundingClientRect();
    const px = ((event.clientX - box.left) / box.width) * canvas.width;
    const py = ((event.clientY - box.top) / box.height) * canvas.height;
    const [x, y] = boundary.toData(px, py);
    if (!erasing && (spec().dataset.points || []).length >= catalog.limits.max_points) return;
    edit((s) => {
      const points = s.dataset.points ||= [];
      if (erasing) {
        let nearest = -1, best = Infinity;
        points.forEach(([a, b], i) => {
          const [qx, qy] = boundary.toPixel(a, b);
          const d = Math.hypot(qx - px, qy - py);
          if (d < best) { best = d; nearest = i; }
        });
        if (nearest >= 0 && best < ERASE_RADIUS) points.splice(nearest, 1);
      } else {
        points.push([Number(x.toFixed(3)), Number(y.toFixed(3)), drawClass]);
      }
      splitCustom(s);
    });
  }

  async function uploadCsv(event) {
    const file = event.target.files[0];
    event.target.value = "";
    if (!file) return;
    try {
      const { points, problems } = coercePoints((await api.parseCsv(await file.text()))?.points, catalog);
      report("file", warningFor("The file's points", problems, "file"));
      edit((s) => {
        s.dataset = { name: "custom", n_train: 0, n_val: 0, n_test: 0, noise: 0, seed: s.dataset.seed, params: {}, points };
        splitCustom(s);
      });
    } catch (err) {
      report("file", problemsOf(err));
    }
  }

  return {
    showData, showFrame, clearFrame, hover, sync,
    setOptions: (view) => boundary.setOptions(view),
    extent: () => boundary.extent,
    boundary, // read by the end-to-end tests and the page benchmark (frames drawn, milliseconds)
  };
}
