// The network of an image run as a stack of layers: the input, each hidden layer (any type
// of the catalog's `layer_types`: add, remove, move, edit its fields within their bounds),
// the output layer the server adds, and the total. Each row shows what Keras makes of it,
// its output shape and parameters, and what cannot work, in words, on the row at fault:
// all from the server (POST /api/preview/layers), asked again soon after each change.

import { problemsOf, report } from "./problems.js";
import { fullLayer, layerFields, shapeText } from "./imagespec.js";
import { textEl } from "./pixels.js";
import { problemKindOf, specToSend } from "./spec.js";

const WAIT_MS = 150;
const TYPE_WORDS = { dense: "dense", conv2d: "conv2d", maxpool2d: "max pool", flatten: "flatten",
  global_avg_pool: "global average pool", dropout: "dropout", batchnorm: "batch normalization" };
const FIELD_WORDS = { kernel_size: "kernel", pool_size: "pool", strides: "stride", rate: "rate" };

function button(text, title, onclick) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = text;
  b.title = title;
  b.setAttribute("aria-label", title);
  b.onclick = onclick;
  return b;
}

function select(options, value, words = {}) {
  const s = document.createElement("select");
  s.replaceChildren(...options.map((o) => new Option(words[o] ?? o, o)));
  s.value = value;
  return s;
}

const count = (n) => Number(n).toLocaleString("en-US");

/** hooks: {root, catalog, api, edit(change), onTotal(parameters)}. */
export function createLayerStack({ root, catalog, api, edit, onTotal }) {
  const types = Object.keys(catalog.layer_types ?? { dense: {} });
  const most = catalog.limits.max_image_layers ?? catalog.limits.max_layers;
  let spec = null, shownKey = null, timer = null, ticket = 0;
  let rows = []; // per layer: {shape, params} elements
  let inputShape, outputShape, outputParams, total;
  let newType = "conv2d";

  const change = (fn) => edit((s) => { fn(s.layers); });

  function fieldInput(layer, i, name, field) {
    const path = `layers[${i}].${name}`;
    let input;
    if (field.choices) {
      input = select(field.choices, layer[name] ?? field.default);
      input.onchange = () => change((layers) => { layers[i][name] = input.value; });
    } else {
      input = Object.assign(document.createElement("input"), {
        type: "number", min: field.low, max: field.high, step: field.integer ? 1 : 0.05, value: layer[name] ?? field.default,
      });
      input.onchange = () => {
        let v = Number(input.value);
        if (input.value.trim() === "" || !Number.isFinite(v)) v = field.default;
        if (field.integer) v = Math.round(v);
        v = Math.min(field.high, Math.max(field.low, v)); // the catalog's bounds
        input.value = v;
        change((layers) => { layers[i][name] = v; });
      };
    }
    input.dataset.field = path;
    const label = document.createElement("label");
    label.className = "layer-field";
    label.append(`${FIELD_WORDS[name] ?? name} `, input);
    return label;
  }

  function layerRow(layer, i, n) {
    const type = layer.type ?? "dense";
    const row = document.createElement("div");
    row.className = "layer-row";
    row.dataset.testid = "layer-row";
    row.dataset.type = type;
    const kind = select(types, type, TYPE_WORDS);
    kind.dataset.field = `layers[${i}].type`;
    kind.setAttribute("aria-label", `Type of layer ${i + 1}`);
    kind.onchange = () => change((layers) => { layers[i] = fullLayer(kind.value, {}, catalog); });
    const fields = document.createElement("span");
    fields.className = "layer-fields";
    for (const [name, field] of Object.entries(layerFields(type, catalog) ?? {})) fields.append(fieldInput(layer, i, name, field));
    const shape = textEl("span", "", "layer-shape");
    const params = textEl("span", "", "layer-params");
    const moves = document.createElement("span");
    moves.className = "layer-moves";
    const swap = (a, b) => change((layers) => { [layers[a], layers[b]] = [layers[b], layers[a]]; });
    const up = button("\u2191", `Move layer ${i + 1} up`, () => swap(i, i - 1));
    const down = button("\u2193", `Move layer ${i + 1} down`, () => swap(i, i + 1));
    up.disabled = i === 0;
    down.disabled = i === n - 1;
    moves.append(up, down, button("\u2715", `Remove layer ${i + 1}`, () => change((layers) => { layers.splice(i, 1); })));
    const error = textEl("span", "", "field-error layer-problem");
    error.dataset.errorFor = `layers[${i}]`;
    row.append(textEl("span", String(i + 1), "layer-index"), kind, fields, shape, params, moves, error);
    rows.push({ shape, params });
    return row;
  }

  function build() {
    const focused = document.activeElement?.dataset?.field; // keep the place of one typing on
    rows = [];
    const n = spec.layers.length;
    inputShape = textEl("span", "", "layer-shape");
    const input = document.createElement("div");
    input.className = "layer-row fixed";
    input.append(textEl("span", "", "layer-index"), textEl("b", "input"), inputShape);
    outputShape = textEl("span", "", "layer-shape");
    outputParams = textEl("span", "", "layer-params");
    const output = document.createElement("div");
    output.className = "layer-row fixed";
    output.dataset.testid = "output-row";
    const activation = problemKindOf(spec, catalog) === "binary" ? "sigmoid" : "softmax";
    output.append(textEl("span", "", "layer-index"), textEl("b", `output: dense, ${activation}`), outputShape, outputParams);
    total = textEl("output", "", "layer-total");
    total.dataset.testid = "total-parameters";
    const adder = document.createElement("div");
    adder.className = "layer-adder";
    const kind = select(types, types.includes(newType) ? newType : types[0], TYPE_WORDS);
    kind.setAttribute("aria-label", "Type of the layer to add");
    kind.dataset.testid = "new-layer-type";
    kind.onchange = () => { newType = kind.value; };
    const add = button("+ add layer", "Add a layer of this type before the output", () => {
      newType = kind.value;
      change((layers) => { layers.push(fullLayer(kind.value, {}, catalog)); });
    });
    add.disabled = n >= most;
    add.dataset.testid = "add-layer";
    const totalRow = document.createElement("div");
    totalRow.className = "layer-total-row";
    totalRow.append("Total: ", total, " parameters ", textEl("span", "", "field-error"));
    totalRow.lastChild.dataset.errorFor = "layers";
    adder.append(kind, add, textEl("span", `${n} of at most ${most} layers`, "small"));
    root.replaceChildren(input, ...spec.layers.map((l, i) => layerRow(l, i, n)), output, totalRow, adder);
    if (focused) root.querySelector(`[data-field="${CSS.escape(focused)}"]`)?.focus();
  }

  async function preview() {
    const mine = ++ticket;
    try {
      const answer = await api.previewLayers(specToSend(spec));
      if (mine !== ticket) return;
      inputShape.textContent = shapeText(answer.input);
      (answer.layers ?? []).forEach((layer, i) => {
        if (!rows[i]) return;
        rows[i].shape.textContent = shapeText(layer.output_shape);
        rows[i].params.textContent = `${count(layer.parameters)} parameters`;
      });
      if (answer.output) {
        outputShape.textContent = shapeText(answer.output.output_shape);
        outputParams.textContent = `${count(answer.output.parameters)} parameters`;
      }
      total.textContent = count(answer.total);
      onTotal(answer.total);
      report("layers", Array.isArray(answer.problems) ? answer.problems : []);
    } catch (err) {
      if (mine === ticket) report("layers", problemsOf(err));
    }
  }

  /** Show the draft `s`: its rows at once (when they changed), their shapes soon after. */
  function show(s) {
    spec = s;
    const key = JSON.stringify([s.dataset, s.layers]);
    if (key === shownKey) return;
    shownKey = key;
    build();
    clearTimeout(timer);
    timer = setTimeout(preview, WAIT_MS);
  }

  /** Leave image mode: nothing of the stack stays reported. */
  function hide() {
    shownKey = null;
    ticket++;
    clearTimeout(timer);
    report("layers", []);
  }

  return { show, hide };
}
