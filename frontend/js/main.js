// The participant's page: wires the controls, the server and the views together.

import { api, ApiError } from "./api.js";
import { BoundaryView, neuronOverlay } from "./boundary.js";
import { Curves } from "./charts.js";
import { CLASS_COLORS } from "./colors.js";
import { copyText, download, highlightPython } from "./code.js";
import { NetworkView } from "./network.js";
import { showProblems, clearProblems } from "./problems.js";
import { startRoom } from "./room.js";
import { coercePoints, coerceSpec, coerceView, warningFor } from "./sanitize.js";
import { EXERCISES, clone, readUrl, urlFor } from "./state.js";
import { RunStream, goneMessage } from "./stream.js";

const $ = (id) => document.getElementById(id);
const DRAW_EXTENT = [-1.2, 1.2, -1.2, 1.2]; // where a custom data set is drawn before it trains
const MAX_CLASSES = 5;

const page = {
  catalog: null,
  spec: null,
  view: { showVal: false, showTest: false, discretize: false, logScale: false },
  hide: [],
  data: null, // the previewed points
  script: "",
  run: null, // {id, token, stream, state, epoch, done}
  drawClass: 0,
  erasing: false,
  problems: { data: [], code: [], file: [], run: [], link: [], shared: [] }, // by where they came from
};

const boundary = new BoundaryView($("boundary"));
// What the page-rendering benchmark reads: frames received, and the milliseconds spent on them
// (decoding, the network diagram; the boundary's own drawing is timed in BoundaryView).
const stats = { framesReceived: 0, frameMs: 0 };
const curves = new Curves($("loss-chart"), $("metric-chart"));
let network;
let room = null; // the room bar's side, when the page is opened in a room (?room=CODE)

// ---------------------------------------------------------------- the spec

function datasetInfo(name = page.spec.dataset.name) {
  return page.catalog.datasets.find((d) => d.name === name);
}

function problemKind() {
  if (page.spec.dataset.name !== "custom") return datasetInfo().kind;
  const classes = new Set((page.spec.dataset.points || []).map((p) => p[2]));
  return Math.max(2, ...[...classes].map((c) => c + 1)) > 2 ? "multiclass" : "binary";
}

function outputUnits() {
  if (problemKind() !== "multiclass") return 1;
  if (page.spec.dataset.name === "custom") return Math.max(...page.spec.dataset.points.map((p) => p[2])) + 1;
  const classes = datasetInfo().params.find((p) => p.name === "classes");
  return page.spec.dataset.params.classes ?? classes?.default ?? 3;
}

function parameterCount() {
  let inputs = page.spec.features.length, total = 0;
  for (const layer of page.spec.layers) { total += (inputs + 1) * layer.units; inputs = layer.units; }
  return total + (inputs + 1) * outputUnits();
}

/** The spec as sent: empty optional fields dropped. */
function specToSend() {
  const spec = clone(page.spec);
  if (spec.dataset.name !== "custom") delete spec.dataset.points;
  return spec;
}

/** Something in the spec changed. `structural`: the data or the network, which a running run cannot follow. */
function changed({ data = false, structural = false } = {}) {
  history.replaceState(null, "", urlFor(page.spec, page.view, page.hide));
  setProblems("run", []); // they were about the settings before this change; the previews recheck it
  if (structural && page.run) endRunForNewSettings();
  syncControls();
  if (data) refreshData();
  scheduleCode();
  if (structural || data) rebuildNetwork();
}

// ---------------------------------------------------------------- controls

function fillSelect(select, options, labels = {}) {
  select.replaceChildren(...options.map((value) => new Option(labels[value] ?? value, value)));
}

function buildControls() {
  const { catalog } = page;
  fillSelect($("optimizer"), catalog.optimizers, { sgd: "SGD", adam: "Adam", rmsprop: "RMSprop", adagrad: "Adagrad" });
  fillSelect($("loss"), ["", ...catalog.losses], { "": "the usual one", binary_crossentropy: "binary cross-entropy",
    categorical_crossentropy: "categorical cross-entropy", mse: "mean squared error", mae: "mean absolute error" });

  $("exercise-buttons").replaceChildren(...EXERCISES.map((exercise) => {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = exercise.title;
    button.title = exercise.hint;
    button.dataset.exercise = exercise.id;
    button.onclick = () => { page.spec = clone(exercise.spec); changed({ data: true, structural: true }); };
    return button;
  }));

  $("datasets").replaceChildren(...catalog.datasets.map((info) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "dataset-choice";
    button.dataset.dataset = info.name;
    button.setAttribute("role", "radio");
    button.title = info.description;
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = 72;
    const label = document.createElement("span");
    label.textContent = info.course ? `${info.course} ${info.title}` : info.title;
    button.append(canvas, label);
    button.onclick = () => chooseDataset(info.name);
    return button;
  }));
  drawThumbnails();

  $("features").replaceChildren(...catalog.features.map((name) => {
    const label = document.createElement("label");
    label.className = "feature-toggle";
    const box = Object.assign(document.createElement("input"), { type: "checkbox", value: name });
    box.dataset.feature = name;
    box.onchange = () => {
      const chosen = new Set(page.spec.features);
      box.checked ? chosen.add(name) : chosen.delete(name);
      page.spec.features = catalog.features.filter((f) => chosen.has(f));
      changed({ structural: true });
    };
    label.append(box, ` ${name}`);
    return label;
  }));

  const numberField = (id, set, { structural = false, data = false } = {}) => {
    $(id).addEventListener("change", (e) => {
      const raw = e.target.value.trim();
      set(raw === "" ? null : Number(raw));
      changed({ structural, data });
    });
  };
  numberField("learning-rate", (v) => { page.spec.training.learning_rate = v; liveLearningRate(v); });
  numberField("batch-size", (v) => { page.spec.training.batch_size = v; });
  numberField("epochs", (v) => { page.spec.training.epochs = v; });
  numberField("regularization-rate", (v) => { page.spec.training.regularization_rate = v ?? 0; });
  numberField("patience", (v) => { page.spec.training.early_stopping_patience = v; });
  numberField("dropout", (v) => { page.spec.layers.forEach((l) => { l.dropout = v ?? 0; }); });
  numberField("noise", (v) => { page.spec.dataset.noise = v ?? 0; }, { data: true, structural: true });
  numberField("n-train", (v) => { page.spec.dataset.n_train = v; }, { data: true, structural: true });
  numberField("n-val", (v) => { page.spec.dataset.n_val = v ?? 0; }, { data: true, structural: true });
  numberField("n-test", (v) => { page.spec.dataset.n_test = v ?? 0; }, { data: true, structural: true });
  $("optimizer").onchange = (e) => { page.spec.training.optimizer = e.target.value; changed(); };
  $("loss").onchange = (e) => { page.spec.training.loss = e.target.value || null; changed(); };
  $("regularization").onchange = (e) => { page.spec.training.regularization = e.target.value; changed(); };

  $("add-layer").onclick = () => {
    const last = page.spec.layers.at(-1);
    page.spec.layers.push({ units: last?.units ?? 4, activation: last?.activation ?? "relu", dropout: last?.dropout ?? 0 });
    changed({ structural: true });
  };
  $("remove-layer").onclick = () => { page.spec.layers.pop(); changed({ structural: true }); };

  $("regenerate").onclick = () => {
    page.spec.dataset.seed = (page.spec.dataset.seed % 100000) + 1 + Math.floor(Math.random() * 1000);
    changed({ data: true, structural: true });
  };
  $("download-data").onclick = () => {
    if (!page.data) return;
    const rows = ["split,x1,x2,label"];
    for (const split of ["train", "val", "test"]) for (const p of page.data[split]) rows.push(`${split},${p.join(",")}`);
    download(`${page.spec.dataset.name}.csv`, rows.join("\n") + "\n", "text/csv");
  };
  $("upload").onchange = uploadCsv;

  for (const [id, key] of [["show-val", "showVal"], ["show-test", "showTest"], ["discretize", "discretize"], ["log-scale", "logScale"]]) {
    $(id).onchange = (e) => {
      page.view[key] = e.target.checked;
      boundary.setOptions(page.view);
      curves.setLogScale(page.view.logScale);
      history.replaceState(null, "", urlFor(page.spec, page.view, page.hide));
    };
  }

  $("draw-classes").replaceChildren(...Array.from({ length: MAX_CLASSES }, (_, c) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "draw-class";
    button.dataset.drawClass = c;
    button.style.setProperty("--class-color", CLASS_COLORS[c]);
    button.textContent = `class ${c}`;
    button.onclick = () => { page.drawClass = c; page.erasing = false; syncDrawTools(); };
    return button;
  }));
  $("draw-erase").onclick = () => { page.erasing = !page.erasing; syncDrawTools(); };
  $("draw-clear").onclick = () => { page.spec.dataset.points = []; customPointsChanged(); };
  $("boundary").addEventListener("click", drawPoint);

  $("train").onclick = train;
  $("pause").onclick = togglePause;
  $("step").onclick = step;
  $("stop").onclick = () => control("stop");
  $("reset").onclick = reset;
  $("share").onclick = async () => {
    const ok = await copyText(location.href, $("share"));
    flash($("share"), ok ? "Link copied" : "Copy the address bar");
  };
  $("copy-code").onclick = async () => flash($("copy-code"), (await copyText(page.script, $("code"))) ? "Copied" : "Selected");
  $("download-code").onclick = () => download("train.py", page.script, "text/x-python");

  document.addEventListener("keydown", (e) => {
    if (e.target.closest("input, select, textarea") || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === " " && !e.target.closest("button")) { e.preventDefault(); isRunning() ? togglePause() : train(); }
    if (e.key === ".") step();
  });
}

function flash(button, text) {
  const before = button.textContent;
  button.textContent = text;
  setTimeout(() => { button.textContent = before; }, 1500);
}

function chooseDataset(name) {
  const previous = page.spec.dataset;
  page.spec.dataset = { name, n_train: previous.n_train, n_val: previous.n_val, n_test: previous.n_test,
    noise: previous.noise, seed: previous.seed, params: {} };
  if (name === "custom") {
    page.spec.dataset.points = [];
    page.spec.dataset.noise = 0;
    customSizes();
  }
  if (page.spec.training.loss && !lossFits(page.spec.training.loss)) page.spec.training.loss = null;
  changed({ data: true, structural: true });
}

function lossFits(loss) {
  const kind = problemKind();
  return { binary: ["binary_crossentropy", "mse", "mae"], multiclass: ["categorical_crossentropy", "mse"],
    regression: ["mse", "mae"] }[kind].includes(loss);
}

function buildParams() {
  const info = datasetInfo();
  const box = $("dataset-params");
  $("dataset-description").textContent = info.description;
  box.replaceChildren(...info.params.map((param) => {
    const label = document.createElement("label");
    const value = page.spec.dataset.params[param.name] ?? param.default;
    const input = Object.assign(document.createElement("input"), {
      type: "range", min: param.low, max: param.high, step: param.integer ? 1 : (param.high - param.low) / 100, value,
    });
    input.dataset.field = `dataset.params.${param.name}`;
    input.setAttribute("aria-label", `${param.name}: ${param.doc}`);
    const shown = document.createElement("output");
    shown.textContent = value;
    const error = document.createElement("span");
    error.className = "field-error";
    error.dataset.errorFor = `dataset.params.${param.name}`;
    input.oninput = () => { shown.textContent = Number(input.value).toFixed(param.integer ? 0 : 2); };
    input.onchange = () => {
      page.spec.dataset.params[param.name] = Number(input.value);
      changed({ data: true, structural: true });
    };
    label.title = param.doc;
    label.append(`${param.name} `, input, shown, error);
    return label;
  }));
}

function syncControls() {
  const { spec } = page;
  const t = spec.training;
  const setValue = (id, v) => { const el = $(id); if (document.activeElement !== el) el.value = v ?? ""; };
  setValue("optimizer", t.optimizer);
  setValue("learning-rate", t.learning_rate);
  setValue("loss", t.loss ?? "");
  setValue("batch-size", t.batch_size);
  setValue("epochs", t.epochs);
  setValue("regularization", t.regularization ?? "none");
  setValue("regularization-rate", t.regularization_rate ?? 0);
  setValue("patience", t.early_stopping_patience ?? "");
  setValue("dropout", spec.layers[0]?.dropout ?? 0);
  $("dropout").disabled = spec.layers.length === 0;
  setValue("noise", spec.dataset.noise);
  setValue("n-train", spec.dataset.n_train);
  setValue("n-val", spec.dataset.n_val);
  setValue("n-test", spec.dataset.n_test);
  const custom = spec.dataset.name === "custom";
  // A drawn data set splits itself (80 % train, 20 % validation) and has no noise to add.
  for (const id of ["noise", "n-train", "n-val", "n-test"]) $(id).disabled = custom;
  $("custom-tools").hidden = !custom;
  const updates = Math.ceil(spec.dataset.n_train / t.batch_size);
  $("updates-per-epoch").textContent = Number.isFinite(updates) && updates > 0 ? `${updates} updates per epoch` : "";
  $("epoch-total").textContent = `/ ${t.epochs ?? "?"}`;
  document.querySelectorAll(".dataset-choice").forEach((b) => {
    b.setAttribute("aria-checked", String(b.dataset.dataset === spec.dataset.name));
  });
  document.querySelectorAll("[data-exercise]").forEach((b) => {
    const e = EXERCISES.find((x) => x.id === b.dataset.exercise);
    b.classList.toggle("current", JSON.stringify(e.spec) === JSON.stringify(spec));
  });
  document.querySelectorAll("[data-feature]").forEach((box) => { box.checked = spec.features.includes(box.dataset.feature); });
  $("param-count").textContent = `${parameterCount()} parameters`;
  $("layer-count").textContent = spec.layers.length ? `${spec.layers.length} hidden layer${spec.layers.length > 1 ? "s" : ""}`
    : "no hidden layer: a single neuron";
  $("remove-layer").disabled = spec.layers.length === 0;
  $("add-layer").disabled = spec.layers.length >= page.catalog.limits.max_layers;
  const regression = problemKind() === "regression";
  const metric = regression ? "MAE" : "accuracy";
  $("train-metric-name").textContent = `train ${metric}`;
  $("val-metric-name").textContent = `val. ${metric}`;
  $("test-metric-name").textContent = `test ${metric}`;
  curves.setMetricName(regression ? "mean absolute error" : "accuracy");
  $("discretize").disabled = problemKind() !== "binary";
  if (datasetInfo()) buildParamsIfNeeded();
  syncDrawTools();
}

let paramsFor = null;
function buildParamsIfNeeded() {
  const key = page.spec.dataset.name + JSON.stringify(page.spec.dataset.params);
  if (paramsFor === key) return;
  paramsFor = key;
  buildParams();
}

function syncDrawTools() {
  document.querySelectorAll(".draw-class").forEach((b) => {
    b.setAttribute("aria-checked", String(!page.erasing && Number(b.dataset.drawClass) === page.drawClass));
  });
  $("draw-erase").setAttribute("aria-pressed", String(page.erasing));
  $("boundary").classList.toggle("drawing", page.spec.dataset.name === "custom");
}

function applyHidden() {
  for (const name of page.hide) document.querySelectorAll(`[data-hide="${name}"]`).forEach((el) => { el.hidden = true; });
}

function rebuildNetwork() {
  network.setStructure({
    features: page.spec.features, layers: page.spec.layers, activations: page.catalog.activations,
    maxUnits: page.catalog.limits.max_units, extent: boundary.extent, outputs: outputUnits(),
  });
}

// ---------------------------------------------------------------- data

let dataRequest = 0;
async function refreshData() {
  const ticket = ++dataRequest;
  if (page.spec.dataset.name === "custom") {
    const points = page.spec.dataset.points || [];
    page.data = { kind: problemKind(), extent: DRAW_EXTENT, train: points, val: [], test: [] };
    boundary.setFrame(null);
    boundary.setData(page.data);
    network.setExtent(boundary.extent);
    return;
  }
  try {
    const data = await api.previewData(specToSend());
    if (ticket !== dataRequest) return; // a newer change is on its way
    page.data = data;
    boundary.setFrame(null);
    boundary.setData(data);
    network.setExtent(data.extent);
    setProblems("data", []);
  } catch (err) {
    if (ticket === dataRequest) setProblems("data", problemsOf(err));
  }
}

async function drawThumbnails() {
  for (const info of page.catalog.datasets) {
    const canvas = document.querySelector(`[data-dataset="${CSS.escape(info.name)}"] canvas`);
    const ctx = canvas.getContext("2d");
    if (info.name === "custom") {
      ctx.fillStyle = "#f4f4f4"; ctx.fillRect(0, 0, 72, 72);
      ctx.fillStyle = "#555"; ctx.font = "30px system-ui"; ctx.fillText("✎", 24, 46);
      continue;
    }
    try {
      const data = await api.previewData({ dataset: { name: info.name, n_train: 150, n_val: 0, n_test: 0, seed: 3 } });
      const view = new BoundaryView(canvas, { radius: 1.8 });
      view.data = data;
      view.extent = data.extent;
      ctx.fillStyle = "#fff";
      ctx.fillRect(0, 0, 72, 72);
      view.drawPoints();
    } catch { /* a thumbnail is a nicety: the button still works */ }
  }
}

function customSizes() {
  const n = (page.spec.dataset.points || []).length;
  page.spec.dataset.n_val = Math.floor(n * 0.2);
  page.spec.dataset.n_test = 0;
  page.spec.dataset.n_train = n - page.spec.dataset.n_val;
}

function customPointsChanged() {
  customSizes();
  changed({ data: true, structural: true });
}

function drawPoint(event) {
  if (page.spec.dataset.name !== "custom") return;
  const canvas = $("boundary");
  const box = canvas.getBoundingClientRect();
  const px = ((event.clientX - box.left) / box.width) * canvas.width;
  const py = ((event.clientY - box.top) / box.height) * canvas.height;
  const [x, y] = boundary.toData(px, py);
  const points = page.spec.dataset.points ||= [];
  if (page.erasing) {
    let nearest = -1, best = Infinity;
    points.forEach(([a, b], i) => {
      const [qx, qy] = boundary.toPixel(a, b);
      const d = Math.hypot(qx - px, qy - py);
      if (d < best) { best = d; nearest = i; }
    });
    if (nearest >= 0 && best < 20) points.splice(nearest, 1);
  } else {
    if (points.length >= page.catalog.limits.max_points) return;
    points.push([Number(x.toFixed(3)), Number(y.toFixed(3)), page.drawClass]);
  }
  customPointsChanged();
}

async function uploadCsv(event) {
  const file = event.target.files[0];
  event.target.value = "";
  if (!file) return;
  try {
    const { points, problems } = coercePoints((await api.parseCsv(await file.text()))?.points, page.catalog.limits);
    page.spec.dataset = { name: "custom", n_train: 0, n_val: 0, n_test: 0, noise: 0, seed: page.spec.dataset.seed,
      params: {}, points };
    customSizes();
    setProblems("file", warningFor("The file's points", problems, "file"));
    changed({ data: true, structural: true });
  } catch (err) {
    setProblems("file", problemsOf(err));
  }
}

// ---------------------------------------------------------------- code

let codeTimer = null, codeRequest = 0;
function scheduleCode() {
  clearTimeout(codeTimer);
  codeTimer = setTimeout(async () => {
    const ticket = ++codeRequest;
    try {
      const script = await api.previewCode(specToSend());
      if (ticket !== codeRequest) return;
      page.script = script;
      $("code").replaceChildren(...highlightPython(script));
      $("code-note").textContent = "The same model in plain Keras: run it with python train.py.";
      setProblems("code", []);
    } catch (err) {
      if (ticket !== codeRequest) return;
      $("code-note").textContent = "This is the code of the last valid settings: fix the value in red.";
      setProblems("code", problemsOf(err));
    }
  }, 150);
}

// ---------------------------------------------------------------- errors

function problemsOf(err) {
  if (err instanceof ApiError && err.problems.length) return err.problems;
  return [{ field: null, msg: err.message }];
}

function setProblems(source, problems) {
  page.problems[source] = problems;
  const all = Object.values(page.problems).flat();
  if (all.length) showProblems(all); else clearProblems();
}

// ---------------------------------------------------------------- the run

function isRunning() {
  return page.run && !page.run.done && page.run.state !== "paused";
}

function setRunState(text) {
  $("run-state").textContent = text;
}

function syncButtons() {
  room?.runChanged();
  const run = page.run, live = run && !run.done;
  $("pause").disabled = !live;
  $("stop").disabled = !live;
  $("pause").textContent = live && run.state === "paused" ? "\u25B6 Resume" : "\u275A\u275A Pause";
  $("train").disabled = live && run.state !== "paused";
  $("train").textContent = live && run.state === "paused" ? "\u25B6 Resume" : "\u25B6 Train";
  document.body.classList.toggle("training", Boolean(live && run.state === "running"));
}

async function startRun(paused) {
  setProblems("run", []);
  clearOutput();
  setRunState("starting…");
  try {
    const created = await api.createRun(specToSend(), paused);
    page.run = { id: created.id, token: created.token, state: "queued", epoch: 0, done: null };
    setRunState("queued");
    syncButtons();
    const run = page.run;
    run.stream = new RunStream(created.id, { onEvent: onEvent(run), onConnection: showConnection,
      onGone: (code, reason) => runGone(run, code, reason) });
    room?.runCreated(page.run);
    return page.run;
  } catch (err) {
    setRunState("");
    if (err instanceof ApiError && err.status === 429) {
      setProblems("run", [{ field: null, msg: `${err.message} (try again in ${err.retryAfter ?? 5} s)` }]);
    } else {
      setProblems("run", problemsOf(err));
    }
    return null;
  }
}

async function train() {
  if (page.run && !page.run.done) {
    if (page.run.state === "paused") await control("resume");
    return;
  }
  await startRun(false);
}

async function togglePause() {
  if (!page.run || page.run.done) return;
  await control(page.run.state === "paused" ? "resume" : "pause");
}

async function step() {
  if (!page.run || page.run.done) {
    const run = await startRun(true);
    if (run) await control("step");
    return;
  }
  await control("step");
}

async function control(action, extra = {}) {
  const run = page.run;
  if (!run || run.done) return;
  try {
    await api.control(run.id, run.token, action, extra);
  } catch (err) {
    if (err instanceof ApiError && err.status === 409) return; // it ended meanwhile: its done event says how
    setProblems("run", problemsOf(err));
  }
}

function liveLearningRate(value) {
  if (page.run && !page.run.done && value > 0) control("learning_rate", { learning_rate: value });
}

function endRunForNewSettings() {
  // The boundary and the network shown belong to the old settings: clear them.
  const wasLive = !page.run.done;
  if (wasLive) control("stop");
  page.run.stream?.close();
  page.run = null;
  setRunState(wasLive ? "stopped: the settings changed; press Train" : "");
  syncButtons();
  clearOutput();
}

function reset() {
  if (page.run && !page.run.done) control("stop");
  page.run?.stream?.close();
  page.run = null;
  setProblems("run", []);
  setRunState("");
  clearOutput();
  syncButtons();
}

function clearOutput() {
  curves.clear();
  boundary.setFrame(null);
  network.update(null);
  network.frame = null;
  network.drawLinks();
  $("epoch").textContent = "0";
  $("progress-bar").style.width = "0";
  for (const id of ["train-accuracy", "val-accuracy", "test-accuracy"]) $(id).textContent = "–";
  $("diverged").hidden = true;
  $("live-lr").textContent = "";
  $("confusion").replaceChildren();
  const model = $("download-model");
  model.classList.add("disabled");
  model.setAttribute("aria-disabled", "true");
  model.removeAttribute("href");
}

/** The server says the run's stream is gone for good (it forgot the run, or refuses this page). */
function runGone(run, code, reason) {
  if (page.run !== run || run.done) return;
  run.done = { kind: "error", state: "failed", message: goneMessage("run", code, reason) };
  setRunState("ended");
  setProblems("run", [{ field: null, msg: run.done.message }]);
  syncButtons();
}

function showConnection(state) {
  const badge = $("connection");
  badge.textContent = state === "reconnecting" ? "reconnecting…" : state === "live" ? "live" : "";
  badge.className = `badge ${state}`;
}

function formatMetric(value) {
  if (value === null || value === undefined) return "–";
  return problemKind() === "regression" ? value.toFixed(3) : `${(value * 100).toFixed(1)} %`;
}

const STATE_WORDS = { queued: "queued", running: "training", paused: "paused" };

function onEvent(run) {
  return (event) => {
    if (page.run !== run) return; // a run the page has moved on from
    switch (event.kind) {
      case "status":
        run.state = event.state;
        setRunState(event.state === "queued" && event.queue_position
          ? `queued: ${event.queue_position} ahead of you in line`.replace(/^queued: 1 ahead of you in line$/, "queued: next in line")
          : STATE_WORDS[event.state] ?? event.state);
        syncButtons();
        break;
      case "epoch": {
        run.epoch = event.epoch;
        curves.add(event);
        $("epoch").textContent = event.epoch;
        $("progress-bar").style.width = `${Math.min(100, (100 * event.epoch) / page.spec.training.epochs)}%`;
        $("train-accuracy").textContent = formatMetric(event.metric);
        $("val-accuracy").textContent = formatMetric(event.val_metric);
        $("live-lr").textContent = `learning rate ${Number(event.learning_rate.toPrecision(4))}`;
        break;
      }
      case "frame": {
        const began = performance.now();
        run.frame = event;
        if (!hovering) boundary.setFrame(event);
        else boundary.frame = event;
        network.update(event);
        if (hovering) showHover(hovering);
        stats.framesReceived++;
        stats.frameMs += performance.now() - began;
        break;
      }
      case "done":
        run.done = event;
        showDone(event);
        syncButtons();
        room?.runChanged();
        break;
      case "error":
        run.done = event;
        setRunState("failed");
        setProblems("run", [{ field: null, msg: event.message }]);
        syncButtons();
        room?.runChanged();
        break;
    }
  };
}

const DONE_WORDS = { finished: "finished", stopped: "stopped", early_stopped: "stopped early: validation loss no longer improved",
  diverged: "diverged" };

function showDone(done) {
  setRunState(DONE_WORDS[done.state] ?? done.state);
  $("test-accuracy").textContent = formatMetric(done.test_metric);
  if (done.metric !== null) $("train-accuracy").textContent = formatMetric(done.metric);
  if (done.val_metric !== null) $("val-accuracy").textContent = formatMetric(done.val_metric);
  const box = $("diverged"); // what the server says about how the run ended, as text
  if (done.state === "diverged") {
    box.hidden = false;
    box.textContent = "The training diverged: the loss became infinite or not a number. "
      + `Lower the learning rate (now ${page.spec.training.learning_rate}) and train again.`;
  } else if (done.message) {
    box.hidden = false;
    box.textContent = done.message;
  }
  $("param-count").textContent = `${done.parameters} parameters`;
  if (done.confusion_matrix) showConfusion(done.confusion_matrix);
  if (done.epochs > 0) {
    const model = $("download-model");
    model.href = api.modelUrl(page.run.id);
    model.classList.remove("disabled");
    model.removeAttribute("aria-disabled");
  }
}

function showConfusion(matrix) {
  const table = document.createElement("table");
  table.createCaption().textContent = "Test set: true class (rows) × predicted (columns)";
  const head = table.createTHead().insertRow();
  head.insertCell().textContent = "";
  matrix.forEach((_, j) => { head.insertCell().textContent = `pred. ${j}`; });
  const total = matrix.flat().reduce((a, b) => a + b, 0) || 1;
  const body = table.createTBody();
  matrix.forEach((row, i) => {
    const tr = body.insertRow();
    tr.insertCell().textContent = `class ${i}`;
    row.forEach((count, j) => {
      const cell = tr.insertCell();
      cell.textContent = count;
      cell.className = i === j ? "hit" : count ? "miss" : "";
      cell.style.setProperty("--share", String(count / total));
    });
  });
  $("confusion").replaceChildren(table);
}

// ---------------------------------------------------------------- hover

let hovering = null;
function showHover(target) {
  hovering = target;
  const frame = page.run?.frame;
  if (!target || target.output || !frame) {
    boundary.setOverlay(null);
    if (frame) boundary.setFrame(frame);
    $("boundary-caption").textContent = "";
    return;
  }
  boundary.setOverlay(neuronOverlay(frame, target.layer, target.unit));
  const range = frame.neuron_ranges[target.layer]?.[target.unit];
  $("boundary-caption").textContent = `layer ${target.layer + 1}, neuron ${target.unit + 1}`
    + (range ? ` (orange ${range[0].toFixed(2)} … blue ${range[1].toFixed(2)})` : "");
}

// ---------------------------------------------------------------- start

async function start() {
  const fromUrl = readUrl();
  page.hide = fromUrl.hide;
  network = new NetworkView($("network"), $("link-tip"), {
    onChange: (layers) => { page.spec.layers = layers; changed({ structural: true }); },
    onHover: showHover,
  });
  try {
    page.catalog = await api.catalog();
  } catch (err) {
    $("general-error").hidden = false;
    $("general-error").textContent = `The playground cannot start: ${err.message}`;
    return;
  }
  // The link is someone else's text: every field is checked against the catalog first.
  const linked = coerceSpec(fromUrl.spec ?? {}, page.catalog);
  const viewed = coerceView(fromUrl.view ?? {});
  page.spec = linked.spec;
  Object.assign(page.view, viewed.view);
  const warning = fromUrl.warning ? [{ field: null, msg: fromUrl.warning }]
    : warningFor("The link's settings", [...linked.problems, ...viewed.problems]);
  buildControls();
  applyHidden();
  for (const [id, key] of [["show-val", "showVal"], ["show-test", "showTest"], ["discretize", "discretize"], ["log-scale", "logScale"]]) {
    $(id).checked = Boolean(page.view[key]);
  }
  boundary.setOptions(page.view);
  curves.setLogScale(page.view.logScale);
  changed({ data: true, structural: true });
  syncButtons();
  setProblems("link", warning);
  window.playground = { page, boundary, curves, network, stats }; // for the end-to-end tests and the curious
  room = await startRoom({
    catalog: page.catalog,
    applySpec: (spec) => {
      const shared = coerceSpec(spec, page.catalog);
      page.spec = shared.spec;
      setProblems("shared", warningFor("The shared settings", shared.problems));
      changed({ data: true, structural: true });
    },
    spec: specToSend,
    run: () => page.run,
  });
  document.body.dataset.ready = "true";
}

start();
