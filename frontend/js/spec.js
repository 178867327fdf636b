// Rules about a run spec that the page needs before the server answers: its problem kind,
// the network's size, what is sent, and which changes a running run can follow. No DOM:
// the settings form, the run and the room use the same rules.

import { clone } from "./state.js";

const KINDS = ["binary", "multiclass", "regression", "segmentation", "restoration"];

export function datasetInfo(spec, catalog) {
  return catalog?.datasets?.find((d) => d.name === spec?.dataset?.name) ?? null;
}

/** "binary", "multiclass" or "regression", or a microscopy data set's "segmentation" or
 * "restoration" (null when the catalog does not know the data set).
 * A drawn or uploaded data set is binary with labels 0 and 1, multi-class with more. */
export function problemKindOf(spec, catalog) {
  if (spec?.dataset?.name === "custom") {
    const labels = (Array.isArray(spec.dataset.points) ? spec.dataset.points : []).map((p) => Number(p?.[2]) || 0);
    return Math.max(2, ...labels.map((c) => c + 1)) > 2 ? "multiclass" : "binary";
  }
  const kind = datasetInfo(spec, catalog)?.kind;
  return KINDS.includes(kind) ? kind : null;
}

/** The output layer's width: one, or one per class of a multi-class problem. */
export function outputUnits(spec, catalog) {
  if (problemKindOf(spec, catalog) !== "multiclass") return 1;
  if (spec.dataset.name === "custom") return Math.max(...spec.dataset.points.map((p) => p[2])) + 1;
  const classes = datasetInfo(spec, catalog).params.find((p) => p.name === "classes");
  return spec.dataset.params.classes ?? classes?.default ?? 3;
}

/** The parameters of a network of points (null for images: the server counts those, POST /api/preview/layers). */
export function parameterCount(spec, catalog) {
  if (datasetInfo(spec, catalog)?.input === "image") return null;
  let inputs = spec.features.length, total = 0;
  for (const layer of spec.layers) { total += (inputs + 1) * layer.units; inputs = layer.units; }
  return total + (inputs + 1) * outputUnits(spec, catalog);
}

/** Whether `loss` may train a problem of this kind (the server's rule, from the catalog). */
export function lossFits(catalog, kind, loss) {
  return (catalog.losses_by_kind[kind] ?? []).includes(loss);
}

/** The spec as sent: a copy, empty optional fields dropped. */
export function specToSend(spec) {
  const sent = clone(spec);
  if (sent.dataset.name !== "custom") delete sent.dataset.points;
  return sent;
}

/** A drawn or uploaded data set splits itself: 80 % train, 20 % validation, no test. */
export function splitCustom(spec) {
  const n = (spec.dataset.points || []).length;
  spec.dataset.n_val = Math.floor(n * 0.2);
  spec.dataset.n_test = 0;
  spec.dataset.n_train = n - spec.dataset.n_val;
}

/** JSON with the keys of every object sorted: two specs compare equal whatever built them. */
function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    return `{${Object.keys(value).sort().filter((k) => value[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}

/** What the network and its data are: the data set, the features, each layer's units and
 * activation (an image layer: all of its fields; a U-Net: all of it). A running run cannot follow a change of these (its boundary and weights
 * would no longer match); anything else applies at the next Train, except the learning
 * rate, which a running run takes at once (`liveChanges`). */
function structure(spec) {
  const { points, ...dataset } = spec.dataset;
  return canonical([dataset, dataset.name === "custom" ? points ?? [] : null, spec.features,
    spec.layers.map((l) => (l.type && l.type !== "dense" ? canonical(l) : [l.units, l.activation])),
    spec.unet ? canonical(spec.unet) : null]); // a microscopy run's U-Net: all of it
}

/** The one rule for settings edited while a run exists: true when the run cannot follow them. */
export function needsNewRun(runSpec, draft) {
  return structure(runSpec) !== structure(draft);
}

/** The changes a running run takes while it trains ({} when none): the learning rate. */
export function liveChanges(current, draft) {
  const rate = draft.training.learning_rate;
  return rate > 0 && rate !== current.learning_rate ? { learning_rate: rate } : {};
}

export function sameSpec(a, b) {
  return canonical(a) === canonical(b);
}
