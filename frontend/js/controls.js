// The settings form: the course exercises, the data set and its parameters, the data
// sizes, the features, the layer buttons, the training fields and the view switches. It
// owns these controls and no others. The page's draft spec changes only through
// `edit(change)`; `sync(spec)` shows a draft, `showView(view)` the view switches.

import { api } from "./api.js";
import { BoundaryView } from "./boundary.js";
import { fullLayer, imageEntry } from "./imagespec.js";
import { decodeBase64, paint } from "./pixels.js";
import { clone, defaultSpec } from "./state.js";
import { datasetInfo, lossFits, parameterCount, problemKindOf, sameSpec, splitCustom } from "./spec.js";
import { fullUnet, lossesFor, scopeEntry } from "./unetspec.js";

const $ = (id) => document.getElementById(id);
const LABELS = {
  optimizer: { sgd: "SGD", adam: "Adam", rmsprop: "RMSprop", adagrad: "Adagrad" },
  loss: { "": "the usual one", binary_crossentropy: "binary cross-entropy",
    categorical_crossentropy: "categorical cross-entropy", mse: "mean squared error", mae: "mean absolute error",
    bce_dice: "binary cross-entropy + Dice", dice: "Dice loss" },
  regularization: { none: "none", l1: "L1", l2: "L2" },
};
const SWITCHES = [["show-val", "showVal"], ["show-test", "showTest"], ["discretize", "discretize"],
  ["log-scale", "logScale"], ["true-boundary", "trueBoundary"]];
const DATA_SIZES = ["noise", "n-train", "n-val", "n-test"];

function fillSelect(select, options, labels = {}) {
  select.replaceChildren(...options.map((value) => new Option(labels[value] ?? value, value)));
}

function button(text, { className, title } = {}) {
  const element = document.createElement("button");
  element.type = "button";
  if (text) element.textContent = text;
  if (className) element.className = className;
  if (title) element.title = title;
  return element;
}

/** hooks: {catalog, edit(change): change(spec) edits the draft in place or returns a new
 * one, setView(key, on): a view switch changed}. */
export function createControls({ catalog, edit, setView }) {
  fillSelect($("optimizer"), catalog.optimizers, LABELS.optimizer);
  fillSelect($("loss"), ["", ...catalog.losses], LABELS.loss);
  let lossChoices = catalog.losses.join(); // the losses offered: a microscopy network's are its output's
  fillSelect($("regularization"), catalog.regularizations, LABELS.regularization);

  $("exercise-buttons").replaceChildren(...catalog.exercises.map((exercise) => {
    const choice = button(exercise.title, { title: exercise.hint });
    choice.dataset.exercise = exercise.id;
    choice.onclick = () => edit(() => clone(exercise.spec));
    return choice;
  }));

  $("datasets").replaceChildren(...catalog.datasets.map((info) => {
    const choice = button("", { className: "dataset-choice", title: info.description });
    choice.dataset.dataset = info.name;
    choice.setAttribute("role", "radio");
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = 72;
    const label = document.createElement("span");
    label.textContent = info.course ? `${info.course} ${info.title}` : info.title;
    choice.append(canvas, label);
    choice.onclick = () => chooseDataset(info.name);
    return choice;
  }));
  drawThumbnails();

  $("features").replaceChildren(...catalog.features.map((name) => {
    const label = document.createElement("label");
    label.className = "feature-toggle";
    const box = Object.assign(document.createElement("input"), { type: "checkbox", value: name });
    box.dataset.feature = name;
    box.onchange = () => edit((s) => {
      const chosen = new Set(s.features);
      if (box.checked) chosen.add(name); else chosen.delete(name);
      s.features = catalog.features.filter((f) => chosen.has(f));
    });
    label.append(box, ` ${name}`);
    return label;
  }));

  const numberField = (id, set) => {
    $(id).addEventListener("change", (e) => {
      const raw = e.target.value.trim();
      const value = raw === "" ? null : Number(raw);
      edit((s) => set(s, value));
    });
  };
  numberField("learning-rate", (s, v) => { s.training.learning_rate = v; });
  numberField("batch-size", (s, v) => { s.training.batch_size = v; });
  numberField("epochs", (s, v) => { s.training.epochs = v; });
  numberField("regularization-rate", (s, v) => { s.training.regularization_rate = v ?? 0; });
  numberField("patience", (s, v) => { s.training.early_stopping_patience = v; });
  numberField("dropout", (s, v) => { s.layers.forEach((l) => { l.dropout = v ?? 0; }); });
  numberField("noise", (s, v) => { s.dataset.noise = v ?? 0; });
  numberField("n-train", (s, v) => { s.dataset.n_train = v; });
  numberField("n-val", (s, v) => { s.dataset.n_val = v ?? 0; });
  numberField("n-test", (s, v) => { s.dataset.n_test = v ?? 0; });
  $("optimizer").onchange = (e) => edit((s) => { s.training.optimizer = e.target.value; });
  $("loss").onchange = (e) => edit((s) => { s.training.loss = e.target.value || null; });
  $("regularization").onchange = (e) => edit((s) => { s.training.regularization = e.target.value; });

  $("add-layer").onclick = () => edit((s) => {
    const last = s.layers.at(-1);
    s.layers.push({ units: last?.units ?? 4, activation: last?.activation ?? "relu", dropout: last?.dropout ?? 0 });
  });
  $("remove-layer").onclick = () => edit((s) => { s.layers.pop(); });

  for (const [id, key] of SWITCHES) $(id).onchange = (e) => setView(key, e.target.checked);

  function chooseDataset(name) {
    edit((s) => {
      const previous = s.dataset;
      const wasImage = Boolean(imageEntry(s, catalog));
      s.dataset = { name, n_train: previous.n_train, n_val: previous.n_val, n_test: previous.n_test,
        noise: previous.noise, seed: previous.seed, params: {} };
      const image = imageEntry(s, catalog);
      if (!scopeEntry(s, catalog)) delete s.unet; // a U-Net is for microscopy data sets only
      if (image) applySuggested(s, image.suggested ?? {});
      else if (wasImage) { // back to points: the dense network and training of the default exercise
        const base = defaultSpec(catalog);
        Object.assign(s.dataset, { n_train: base.dataset.n_train, n_val: base.dataset.n_val, n_test: base.dataset.n_test });
        s.layers = base.layers;
        s.training = base.training;
      }
      if (name === "custom") {
        s.dataset.points = [];
        s.dataset.noise = 0;
        splitCustom(s);
      }
      if (s.training.loss && !lossFits(catalog, problemKindOf(s, catalog), s.training.loss)) s.training.loss = null;
    });
  }

  /** An image data set's suggested sizes, layers (every field filled) and training. */
  function applySuggested(s, suggested) {
    Object.assign(s.dataset, suggested.dataset ?? {});
    if (suggested.layers) s.layers = suggested.layers.map((l) => fullLayer(l.type ?? "dense", l, catalog));
    const scope = scopeEntry(s, catalog);
    if (scope) { // a microscopy data set: its U-Net, no layers, no augmentation (it crops patches)
      s.unet = fullUnet(scope, suggested.unet ?? {});
      s.layers = [];
      delete s.training.augment;
    }
    s.training = { ...s.training, ...(suggested.training ?? {}) };
  }

  /** An image data set's thumbnail: its first training image. */
  async function imageThumbnail(info, canvas) {
    const answer = await api.previewData({ dataset: { name: info.name, n_train: 16, n_val: 0, n_test: 0, seed: 3 },
      layers: [{ type: "flatten" }] });
    const [h, w] = answer.shape;
    const ctx = canvas.getContext("2d");
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(paint(document.createElement("canvas"), decodeBase64(answer.train.images), 0, h, w), 0, 0, 72, 72);
  }

  async function drawThumbnails() {
    for (const info of catalog.datasets) {
      const canvas = document.querySelector(`[data-dataset="${CSS.escape(info.name)}"] canvas`);
      if (info.name === "custom") {
        const ctx = canvas.getContext("2d");
        ctx.fillStyle = "#f4f4f4"; ctx.fillRect(0, 0, 72, 72);
        ctx.fillStyle = "#555"; ctx.font = "30px system-ui"; ctx.fillText("✎", 24, 46);
        continue;
      }
      try {
        if (info.input === "image") { await imageThumbnail(info, canvas); continue; }
        const data = await api.previewData({ dataset: { name: info.name, n_train: 150, n_val: 0, n_test: 0, seed: 3 } });
        new BoundaryView(canvas, { radius: 1.8, axes: false }).setData(data);
      } catch { /* a thumbnail is a nicety: the button still works */ }
    }
  }

  function buildParams(s) {
    const info = datasetInfo(s, catalog);
    $("dataset-description").textContent = info.description;
    $("dataset-params").replaceChildren(...info.params.map((param) => {
      const label = document.createElement("label");
      const value = s.dataset.params[param.name] ?? param.default;
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
      input.onchange = () => edit((d) => { d.dataset.params[param.name] = Number(input.value); });
      label.title = param.doc;
      label.append(`${param.name} `, input, shown, error);
      return label;
    }));
  }

  let paramsFor = null;
  function buildParamsIfNeeded(s) {
    const key = s.dataset.name + JSON.stringify(s.dataset.params);
    if (paramsFor === key) return;
    paramsFor = key;
    buildParams(s);
  }

  /** Show the draft `s` in every control (a control being typed in keeps what is typed). */
  function sync(s) {
    const t = s.training;
    const setValue = (id, v) => { const el = $(id); if (document.activeElement !== el) el.value = v ?? ""; };
    setValue("optimizer", t.optimizer);
    setValue("learning-rate", t.learning_rate);
    const scope = scopeEntry(s, catalog);
    const losses = scope ? lossesFor(catalog, scope.kind, s.unet?.output) : catalog.losses;
    if (losses.join() !== lossChoices) {
      lossChoices = losses.join();
      fillSelect($("loss"), ["", ...losses], LABELS.loss);
    }
    setValue("loss", t.loss ?? "");
    setValue("batch-size", t.batch_size);
    setValue("epochs", t.epochs);
    setValue("regularization", t.regularization ?? catalog.regularizations[0]);
    setValue("regularization-rate", t.regularization_rate ?? 0);
    setValue("patience", t.early_stopping_patience ?? "");
    setValue("dropout", s.layers[0]?.dropout ?? 0);
    $("dropout").disabled = s.layers.length === 0;
    setValue("noise", s.dataset.noise);
    setValue("n-train", s.dataset.n_train);
    setValue("n-val", s.dataset.n_val);
    setValue("n-test", s.dataset.n_test);
    // A drawn data set splits itself (80 % train, 20 % validation) and has no noise to add.
    for (const id of DATA_SIZES) $(id).disabled = s.dataset.name === "custom";
    $("noise-doc").textContent = datasetInfo(s, catalog)?.noise_doc ?? ""; // flipped labels or jitter
    const updates = Math.ceil(s.dataset.n_train / t.batch_size);
    $("updates-per-epoch").textContent = Number.isFinite(updates) && updates > 0 ? `${updates} updates per epoch` : "";
    document.querySelectorAll(".dataset-choice").forEach((b) => {
      b.setAttribute("aria-checked", String(b.dataset.dataset === s.dataset.name));
    });
    document.querySelectorAll("[data-exercise]").forEach((b) => {
      const exercise = catalog.exercises.find((x) => x.id === b.dataset.exercise);
      b.classList.toggle("current", sameSpec(exercise.spec, s));
    });
    document.querySelectorAll("[data-feature]").forEach((box) => { box.checked = s.features.includes(box.dataset.feature); });
    const parameters = parameterCount(s, catalog); // null for images: the layer stack asks the server
    if (parameters !== null) showParameters(parameters);
    $("layer-count").textContent = s.layers.length ? `${s.layers.length} hidden layer${s.layers.length > 1 ? "s" : ""}`
      : "no hidden layer: a single neuron";
    $("remove-layer").disabled = s.layers.length === 0;
    $("add-layer").disabled = s.layers.length >= catalog.limits.max_layers;
    $("discretize").disabled = problemKindOf(s, catalog) !== "binary";
    if (datasetInfo(s, catalog)) buildParamsIfNeeded(s);
  }

  function showView(view) {
    for (const [id, key] of SWITCHES) $(id).checked = Boolean(view[key]);
  }

  /** The network's parameter count: the draft's, or what a finished run reports. */
  function showParameters(count) {
    $("param-count").textContent = `${count} parameters`;
    $("parameters").textContent = String(count); // also under the figures, where a participant looks
  }

  return { sync, showView, showParameters };
}
