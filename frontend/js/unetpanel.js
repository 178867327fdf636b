// The network panel of a microscopy data set: the U-Net's settings (depth, base filters,
// batch normalization, dropout, output, patch size) within the catalog's limits, and its
// blocks as Keras builds them, each with its output shape and parameters, and the total
// (POST /api/preview/layers, asked a moment after the last change). What the server finds
// wrong is shown in its words, next to the setting at fault.

import { shapeText } from "./imagespec.js";
import { problemsOf, report } from "./problems.js";
import { textEl } from "./pixels.js";
import { specToSend } from "./spec.js";
import { OUTPUTS, lossesFor, scopeEntry } from "./unetspec.js";

const WAIT_MS = 250;
const OUTPUT_WORDS = { foreground: "foreground", three_class: "three classes (background, interior, boundary)",
  restored: "restored image" };
const BLOCK_WORDS = { bottom: "bottom of the U", output: "output: 1×1 convolution" };
const count = (n) => Number(n).toLocaleString("en-US");

function field(words, title, input, name) {
  const label = document.createElement("label");
  label.title = title;
  input.dataset.field = `unet.${name}`;
  input.dataset.testid = `unet-${name.replace("_", "-")}`;
  const error = textEl("span", "", "field-error");
  error.dataset.errorFor = `unet.${name}`;
  if (input.type === "checkbox") { label.className = "check"; label.append(input, ` ${words}`, error); } else {
    label.append(words, input, error);
  }
  return label;
}

function numberInput(low, high, step) {
  return Object.assign(document.createElement("input"), { type: "number", min: low, max: high, step });
}

/** hooks: {root, catalog, api, edit(change), onTotal(parameters)}. */
export function createUnetPanel({ root, catalog, api, edit, onTotal }) {
  const { limits } = catalog;
  let spec = null, shownKey = null, timer = null, ticket = 0;

  const depth = document.createElement("select");
  depth.replaceChildren(...Array.from({ length: limits.max_unet_depth ?? 4 }, (_, i) => new Option(String(i + 1), String(i + 1))));
  const filters = numberInput(1, limits.max_base_filters ?? 32, 1);
  const batchnorm = Object.assign(document.createElement("input"), { type: "checkbox" });
  const dropout = numberInput(0, limits.max_dropout ?? 0.9, 0.05);
  const output = document.createElement("select");
  const patch = numberInput(limits.min_patch ?? 16, limits.max_patch ?? 128, 4);
  const fields = document.createElement("div");
  fields.className = "unet-fields";
  fields.append(
    field("Depth", "Poolings down (and as many up-convolutions back): each level halves the image and doubles the filters", depth, "depth"),
    field("Base filters", "Filters of the two 3×3 convolutions at the top level; doubled at each level down", filters, "base_filters"),
    field("batch normalization", "Normalize each convolution's outputs over the batch before the ReLU", batchnorm, "batchnorm"),
    field("Dropout", "Share of the bottom block's outputs set to zero at random while training", dropout, "dropout"),
    field("Output", "What the last 1×1 convolution gives for each pixel", output, "output"),
    field("Patch size", "Side of the random crops trained on (a multiple of 2^depth; validation uses whole images)", patch, "patch"),
  );
  const blocks = document.createElement("table");
  blocks.className = "unet-blocks";
  blocks.dataset.testid = "unet-blocks";
  const total = textEl("output", "", "unet-total");
  total.dataset.testid = "unet-total";
  const totalRow = document.createElement("p");
  const totalError = textEl("span", "", "field-error");
  totalError.dataset.errorFor = "unet";
  totalRow.append("Total: ", total, " parameters ", totalError);
  const words = textEl("p", "A U-Net: each level down convolves twice and halves the image (max pool); each level up "
    + "doubles it back (a transposed convolution) and joins the level's own maps (a skip connection), so the "
    + "output has the input's size: one answer per pixel.", "hint");
  root.replaceChildren(words, fields, blocks, totalRow);

  const number = (input, low, high, integer, fallback) => {
    let v = Number(input.value);
    if (input.value.trim() === "" || !Number.isFinite(v)) v = fallback;
    if (integer) v = Math.round(v);
    v = Math.min(high, Math.max(low, v)); // the catalog's bounds
    input.value = v;
    return v;
  };
  const change = (fn) => edit((s) => { fn(s.unet, s); });
  depth.onchange = () => change((u) => { u.depth = Number(depth.value); });
  filters.onchange = () => change((u) => { u.base_filters = number(filters, 1, limits.max_base_filters ?? 32, true, 8); });
  batchnorm.onchange = () => change((u) => { u.batchnorm = batchnorm.checked; });
  dropout.onchange = () => change((u) => { u.dropout = number(dropout, 0, limits.max_dropout ?? 0.9, false, 0); });
  patch.onchange = () => change((u) => { u.patch = number(patch, limits.min_patch ?? 16, limits.max_patch ?? 128, true, 64); });
  output.onchange = () => change((u, s) => {
    u.output = output.value;
    const losses = lossesFor(catalog, scopeEntry(s, catalog).kind, u.output);
    if (!losses.includes(s.training.loss)) s.training.loss = losses[0] ?? null; // three classes: categorical only
  });

  function showBlocks(answer) {
    const head = document.createElement("thead");
    const row = document.createElement("tr");
    for (const h of ["block", "output shape", "parameters"]) row.append(textEl("th", h));
    head.append(row);
    const body = document.createElement("tbody");
    const line = (name, shape, params) => {
      const tr = document.createElement("tr");
      tr.dataset.testid = "unet-block";
      tr.append(textEl("td", BLOCK_WORDS[name] ?? String(name)), textEl("td", shapeText(shape), "number"),
        textEl("td", params === null || params === undefined ? "" : count(params), "number"));
      body.append(tr);
    };
    if (Array.isArray(answer.input)) line("input", answer.input, null);
    for (const block of Array.isArray(answer.layers) ? answer.layers : []) line(block.type, block.output_shape, block.parameters);
    if (answer.output) line("output", answer.output.output_shape, answer.output.parameters);
    blocks.replaceChildren(head, body);
  }

  async function preview() {
    const mine = ++ticket;
    try {
      const answer = await api.previewLayers(specToSend(spec));
      if (mine !== ticket) return;
      showBlocks(answer);
      const ok = Number.isFinite(answer.total);
      total.textContent = ok ? count(answer.total) : "–";
      if (ok) onTotal(answer.total);
      report("unet", Array.isArray(answer.problems) ? answer.problems : []);
    } catch (err) {
      if (mine === ticket) report("unet", problemsOf(err));
    }
  }

  /** Show the draft `s`'s U-Net (a field being typed in keeps what is typed); its blocks soon after. */
  function show(s) {
    spec = s;
    const u = s.unet ?? {};
    const kind = scopeEntry(s, catalog)?.kind ?? "segmentation";
    const choices = OUTPUTS[kind];
    if ([...output.options].map((o) => o.value).join() !== choices.join()) {
      output.replaceChildren(...choices.map((o) => new Option(OUTPUT_WORDS[o] ?? o, o)));
    }
    output.disabled = choices.length === 1; // restoration: the restored image, always
    const set = (input, v) => { if (document.activeElement !== input) input.value = v ?? ""; };
    set(depth, String(u.depth));
    set(filters, u.base_filters);
    set(dropout, u.dropout);
    set(output, u.output);
    set(patch, u.patch);
    patch.step = 2 ** (u.depth ?? 2);
    batchnorm.checked = Boolean(u.batchnorm);
    const key = JSON.stringify([s.dataset, s.unet, s.training.loss]);
    if (key === shownKey) return;
    shownKey = key;
    total.textContent = "…";
    clearTimeout(timer);
    timer = setTimeout(preview, WAIT_MS);
  }

  /** Leave microscopy mode: nothing of the U-Net stays reported. */
  function hide() {
    shownKey = null;
    ticket++;
    clearTimeout(timer);
    report("unet", []);
  }

  return { show, hide };
}
