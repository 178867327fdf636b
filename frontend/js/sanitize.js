// Everything the page reads from outside (the address bar, a CSV's parsed points, a lesson,
// the room's stream, a run's events) is checked and coerced here before the page uses it:
// numbers to finite numbers within the catalog's limits, names to the catalog's
// vocabularies, texts to strings, ids to plain ids. What does not fit takes its default
// and is named in `problems`, so the page can say so. Nothing here builds HTML: the page
// only ever shows these values as text. The rules (field names, vocabularies, the class
// limit, the defaults) are the catalog's: the server serves its own (`GET /api/catalog`).

import { coerceAugment, coerceImageFrame, coerceTypedLayer, imageEntry } from "./imagespec.js";
import { wallPicture } from "./sanitize-wall.js";
import { coerceExtras, coerceScopeDone, coerceScopeFrame, coerceScopeSpec } from "./unetspec.js";
import { clone, defaultSpec } from "./state.js";

const NUMERIC = /^\s*[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?\s*$/i;
const ID = /^[A-Za-z0-9_-]{1,64}$/;
const LAYER_DEFAULT = { units: 4, activation: "relu", dropout: 0 };
export const VIEW_KEYS = ["showVal", "showTest", "discretize", "logScale", "trueBoundary"];

const isObject = (value) => value !== null && typeof value === "object" && !Array.isArray(value);

/** A finite number from a number or a numeric string, else NaN. */
export function toNumber(value) {
  if (typeof value === "number") return Number.isFinite(value) ? value : NaN;
  if (typeof value === "string" && NUMERIC.test(value)) return Number(value);
  return NaN;
}

/** A string of at most `max` characters (anything else: ""). */
export function toText(value, max = 500) {
  if (typeof value === "string") return value.slice(0, max);
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return "";
}

/** An id the server made (a run, a participant, a lesson), or null. */
export function toId(value) {
  return typeof value === "string" && ID.test(value) ? value : null;
}

/** A room code from the address (six letters or digits), upper case, or null. */
export function roomCode(value) {
  const code = typeof value === "string" ? value.trim().toUpperCase() : "";
  return /^[A-Z0-9]{4,12}$/.test(code) ? code : null;
}

/** A checker that records what it had to change, by field path. */
class Checker {
  constructor() { this.problems = []; }

  note(path, what) { this.problems.push(`${path} ${what}`); }

  /** `value` as a number in [low, high] (an integer when asked); absent: the fallback, silently. */
  number(path, value, fallback, { low = -Infinity, high = Infinity, integer = false, lowOpen = false } = {}) {
    if (value === undefined) return fallback;
    let n = toNumber(value);
    if (Number.isNaN(n) || (lowOpen && n <= low)) {
      this.note(path, "was not a usable number");
      return fallback;
    }
    if (integer && !Number.isInteger(n)) { n = Math.round(n); this.note(path, "was rounded"); }
    if (n < low || n > high) {
      n = Math.min(high, Math.max(low, n));
      this.note(path, `was outside [${low}, ${high}]`);
    }
    return n;
  }

  /** `value` if it is one of `names`; absent: the fallback, silently. */
  name(path, value, names, fallback) {
    if (value === undefined) return fallback;
    if (typeof value === "string" && names.includes(value)) return value;
    this.note(path, "is not a known name");
    return fallback;
  }

  object(path, value) {
    if (value === undefined || value === null) return {};
    if (isObject(value)) return value;
    this.note(path, "was not an object");
    return {};
  }

  /** Complain about keys the page does not know (they are dropped). */
  only(path, value, keys) {
    const unknown = Object.keys(value).filter((k) => !keys.includes(k));
    if (unknown.length) this.note(path || "the settings", `had ${unknown.length} unknown field(s)`);
  }
}

/** [x1, x2, label] rows: finite coordinates within the limit, labels 0 to the catalog's
 * max_classes - 1; others dropped. */
export function coercePoints(raw, catalog, check = new Checker(), path = "dataset.points") {
  const { limits } = catalog;
  if (!Array.isArray(raw)) {
    if (raw !== undefined && raw !== null) check.note(path, "was not a list");
    return { points: [], problems: check.problems };
  }
  const bound = limits.max_abs_coordinate ?? 1e6;
  const points = [];
  let dropped = 0;
  for (const row of raw) {
    const [x, y, label] = Array.isArray(row) && row.length === 3 ? row.map(toNumber) : [NaN, NaN, NaN];
    const fits = Math.abs(x) <= bound && Math.abs(y) <= bound && Number.isInteger(label) && label >= 0
      && label < catalog.max_classes;
    if (fits && points.length < limits.max_points) points.push([x, y, label]); else dropped++;
  }
  if (dropped) check.note(path, `had ${dropped} unusable or surplus point(s), dropped`);
  return { points, problems: check.problems };
}

function coerceDataset(raw, catalog, base, check) {
  const { limits } = catalog;
  const given = check.object("dataset", raw);
  check.only("dataset", given, catalog.fields.dataset);
  const names = catalog.datasets.map((d) => d.name);
  const name = check.name("dataset.name", given.name, names, base.name);
  const size = (key, low, fallback) => check.number(`dataset.${key}`, given[key], fallback,
    { low, high: limits.max_points, integer: true });
  const dataset = {
    name,
    n_train: size("n_train", limits.min_train, base.n_train),
    n_val: size("n_val", 0, base.n_val),
    n_test: size("n_test", 0, base.n_test),
    noise: check.number("dataset.noise", given.noise, base.noise, { low: 0, high: limits.max_noise }),
    seed: check.number("dataset.seed", given.seed, base.seed, { low: 0, high: limits.max_seed, integer: true }),
    params: {},
  };
  const info = catalog.datasets.find((d) => d.name === name);
  const most = info?.most ?? limits.max_points; // an image data set has at most so many images
  if (dataset.n_train + dataset.n_val + dataset.n_test > most) {
    check.note("dataset", `had more than ${most} points in all`);
    const fallback = info?.suggested?.dataset ?? base;
    Object.assign(dataset, { n_train: fallback.n_train, n_val: fallback.n_val, n_test: fallback.n_test });
  }
  // A data set's own parameters, each within its own range; a changed data set keeps none.
  const params = given.name === undefined || name === given.name ? check.object("dataset.params", given.params) : {};
  check.only("dataset.params", params, (info?.params ?? []).map((p) => p.name));
  for (const p of info?.params ?? []) {
    if (params[p.name] === undefined) continue;
    dataset.params[p.name] = check.number(`dataset.params.${p.name}`, params[p.name], p.default,
      { low: p.low, high: p.high, integer: p.integer });
  }
  if (name === "custom") dataset.points = coercePoints(given.points, catalog, check).points;
  return dataset;
}

function coerceLayer(raw, i, catalog, check) {
  const { limits } = catalog;
  const path = `layers[${i}]`;
  const given = check.object(path, raw);
  if (given.type !== undefined && given.type !== "dense") { // an image layer (layer_types), or unknown
    const typed = coerceTypedLayer(given, path, catalog, check);
    if (typed) return typed;
    check.note(`${path}.type`, "is not a known layer type");
  }
  const { type, ...rest } = given;
  check.only(path, rest, catalog.fields.layer.filter((k) => k !== "type"));
  const layer = {
    units: check.number(`${path}.units`, given.units, LAYER_DEFAULT.units, { low: 1, high: limits.max_units, integer: true }),
    activation: check.name(`${path}.activation`, given.activation, catalog.activations, LAYER_DEFAULT.activation),
  };
  if (type === "dense") layer.type = "dense";
  if (given.dropout !== undefined) {
    layer.dropout = check.number(`${path}.dropout`, given.dropout, LAYER_DEFAULT.dropout, { low: 0, high: limits.max_dropout });
  }
  return layer;
}

function coerceTraining(raw, catalog, base, nTrain, check) {
  const { limits } = catalog;
  const given = check.object("training", raw);
  check.only("training", given, catalog.fields.training);
  const num = (key, fallback, bounds) => check.number(`training.${key}`, given[key], fallback, bounds);
  const training = {
    optimizer: check.name("training.optimizer", given.optimizer, catalog.optimizers, base.optimizer),
    learning_rate: num("learning_rate", base.learning_rate, { low: 0, high: limits.max_learning_rate, lowOpen: true }),
    loss: given.loss === null ? null : check.name("training.loss", given.loss, catalog.losses, base.loss),
    batch_size: num("batch_size", base.batch_size, { low: 1, high: Math.max(1, nTrain), integer: true }),
    epochs: num("epochs", base.epochs, { low: 1, high: limits.max_epochs, integer: true }),
    seed: num("seed", base.seed, { low: 0, high: limits.max_seed, integer: true }),
  };
  // Optional fields: kept only when the link gives them (the server has their defaults).
  if (given.momentum !== undefined) training.momentum = num("momentum", 0, { low: 0, high: limits.max_momentum });
  if (given.shuffle !== undefined) {
    if (typeof given.shuffle === "boolean") training.shuffle = given.shuffle;
    else check.note("training.shuffle", "was not true or false");
  }
  if (given.regularization !== undefined) {
    training.regularization = check.name("training.regularization", given.regularization, catalog.regularizations,
      catalog.regularizations[0]);
  }
  if (given.regularization_rate !== undefined) {
    training.regularization_rate = num("regularization_rate", 0, { low: 0, high: limits.max_regularization });
  }
  if (given.early_stopping_patience !== undefined && given.early_stopping_patience !== null) {
    training.early_stopping_patience = num("early_stopping_patience", null,
      { low: 1, high: limits.max_patience, integer: true });
  }
  if (given.frame_every !== undefined) {
    training.frame_every = num("frame_every", 1, { low: 1, high: limits.max_frame_every, integer: true });
  }
  if (given.augment !== undefined && given.augment !== null) training.augment = coerceAugment(given.augment, catalog, check);
  return training;
}

/** A run spec from outside -> {spec, problems}: every field valid for the catalog, what was
 * missing taken from the defaults, what did not fit replaced by its default and named. */
export function coerceSpec(raw, catalog) {
  const check = new Checker();
  const base = defaultSpec(catalog);
  const given = check.object("the settings", raw);
  check.only("", given, catalog.fields.spec);
  const dataset = coerceDataset(given.dataset, catalog, base.dataset, check);

  let features = clone(base.features);
  if (given.features !== undefined) {
    const list = Array.isArray(given.features) ? given.features : [];
    const known = catalog.features.filter((f) => list.includes(f));
    if (known.length !== list.length || !Array.isArray(given.features)) check.note("features", "had unknown names");
    if (known.length) features = known;
  }

  // An image data set takes layers of every type (more of them); points only dense ones.
  const image = Boolean(imageEntry({ dataset }, catalog));
  const most = image ? catalog.limits.max_image_layers ?? catalog.limits.max_layers : catalog.limits.max_layers;
  let layers = [];
  if (given.layers !== undefined) {
    if (!Array.isArray(given.layers)) check.note("layers", "was not a list");
    else {
      if (given.layers.length > most) check.note("layers", `had more than ${most}`);
      layers = given.layers.slice(0, most).map((l, i) => coerceLayer(l, i, catalog, check));
      if (!image && layers.some((l) => l.type && l.type !== "dense")) {
        check.note("layers", "had image layers for a data set of points (dropped)");
        layers = layers.filter((l) => !l.type || l.type === "dense");
      }
    }
  }
  const training = coerceTraining(given.training, catalog, base.training, dataset.n_train, check);
  if (training.augment && !image) {
    check.note("training.augment", "is for image data sets only (dropped)");
    delete training.augment;
  }
  const spec = coerceScopeSpec({ dataset, features, layers, training }, given, catalog, check); // microscopy: a U-Net
  return { spec, problems: check.problems };
}

/** The view options of a link -> {view, problems}: true/false switches (VIEW_KEYS). */
export function coerceView(raw) {
  const check = new Checker();
  const given = check.object("view", raw);
  check.only("view", given, VIEW_KEYS);
  const view = {};
  for (const key of VIEW_KEYS) {
    if (given[key] === undefined) continue;
    if (typeof given[key] === "boolean") view[key] = given[key];
    else check.note(`view.${key}`, "was not true or false");
  }
  return { view, problems: check.problems };
}

/** What of a link (or shared settings, or a file) was replaced, as one warning for the
 * page's problem list ([] when everything fitted). `field` places it (null: above the controls). */
export function warningFor(what, problems, field = null) {
  if (!problems.length) return [];
  const shown = problems.slice(0, 4).join("; ");
  const more = problems.length > 4 ? `; and ${problems.length - 4} more` : "";
  return [{ field, msg: `${what} did not all fit (${shown}${more}): the defaults are shown for those.` }];
}

// ---------------------------------------------------------------- events from the server

const num = (value) => { const n = toNumber(value); return Number.isNaN(n) ? null : n; };
const int = (value) => { const n = num(value); return n === null ? null : Math.round(n); };
const RUN_STATES = ["queued", "running", "paused", "finished", "stopped", "early_stopped", "diverged", "failed",
  "interrupted"];
const numbers = (list) => Array.isArray(list) && list.every((v) => typeof v === "number");
const strings = (list) => Array.isArray(list) && list.every((v) => typeof v === "string");

function frameFits(e) {
  return Number.isInteger(e.resolution) && e.resolution > 0 && e.resolution <= 1024
    && Number.isInteger(e.thumb) && e.thumb > 0 && e.thumb <= 256 && typeof e.boundary === "string"
    && numbers(e.extent) && e.extent.length === 4
    && Array.isArray(e.neurons) && e.neurons.every(strings)
    && Array.isArray(e.neuron_ranges) && e.neuron_ranges.every((l) => Array.isArray(l) && l.every(numbers))
    && Array.isArray(e.weights) && e.weights.every((w) => isObject(w) && numbers(w.bias)
      && Array.isArray(w.kernel) && w.kernel.every(numbers));
}

/** A run event as the page may use it, or null for one it cannot (dropped). */
export function coerceRunEvent(raw) {
  if (!isObject(raw)) return null;
  const e = { ...raw };
  if (e.seq !== undefined) e.seq = int(e.seq) ?? 0; // 0: never newer than what the stream has
  switch (e.kind) {
    case "status":
      if (!RUN_STATES.includes(e.state)) return null;
      return { ...e, epoch: int(e.epoch) ?? 0, queue_position: int(e.queue_position),
        message: e.message == null ? null : toText(e.message) };
    case "start": // epoch 0: the untrained network
      return { ...e, epoch: 0, loss: num(e.loss), metric: num(e.metric), val_loss: num(e.val_loss),
        val_metric: num(e.val_metric) };
    case "epoch":
      return { ...e, epoch: int(e.epoch) ?? 0, loss: num(e.loss), metric: num(e.metric), val_loss: num(e.val_loss),
        val_metric: num(e.val_metric), learning_rate: num(e.learning_rate) ?? 0, seconds: num(e.seconds) ?? 0,
        extras: coerceExtras(e.extras) };
    case "frame": {
      if (frameFits(e)) return { ...e, epoch: int(e.epoch) ?? 0, output_min: num(e.output_min) ?? 0, output_max: num(e.output_max) ?? 1 };
      // An image run's frame has no plane: a kind of its own, so no view of the plane takes it.
      const image = coerceImageFrame(e);
      if (image) return { ...image, kind: "image_frame", epoch: int(e.epoch) ?? 0 };
      const scope = coerceScopeFrame(e); // a microscopy run's: the network's output for the probe image
      return scope ? { ...scope, epoch: int(e.epoch) ?? 0 } : null;
    }
    case "done": {
      const matrix = Array.isArray(e.confusion_matrix) && e.confusion_matrix.every(numbers) ? e.confusion_matrix : null;
      return { ...e, state: RUN_STATES.includes(e.state) ? e.state : "failed", epochs: int(e.epochs) ?? 0,
        loss: num(e.loss), metric: num(e.metric), val_loss: num(e.val_loss), val_metric: num(e.val_metric),
        test_loss: num(e.test_loss), test_metric: num(e.test_metric), parameters: int(e.parameters) ?? 0,
        best_epoch: int(e.best_epoch) ?? null,
        confusion_matrix: matrix, per_class_accuracy: Array.isArray(e.per_class_accuracy)
          ? e.per_class_accuracy.map(num) : null, metric_name: e.metric_name === "mae" ? "mae" : "accuracy",
        message: e.message == null ? null : toText(e.message), ...coerceScopeDone(e) };
    }
    case "error":
      return { ...e, message: toText(e.message) || "The run failed." };
    default:
      return null;
  }
}

/** A data set's true boundary (`POST /api/preview/data` -> `true_boundary`): polylines of
 * finite [x1, x2] points (at most 16 lines of 1000 points), or null. */
export function coerceTruth(raw) {
  if (!Array.isArray(raw)) return null;
  const lines = raw.slice(0, 16).filter(Array.isArray).map((line) => line.slice(0, 1000)
    .filter((p) => Array.isArray(p) && p.length === 2 && p.every((v) => typeof v === "number" && Number.isFinite(v))))
    .filter((line) => line.length >= 2);
  return lines.length ? lines : null;
}

/** A room's view (the `room` event) with every field of the type the page shows. */
export function coerceRoomView(raw) {
  const v = isObject(raw) ? raw : {};
  const follow = isObject(v.follow) ? v.follow : {};
  const lesson = isObject(follow.lesson) && toId(follow.lesson.id)
    ? { id: follow.lesson.id, step: Math.max(0, int(follow.lesson.step) ?? 0) } : null;
  const c = isObject(v.challenge) ? v.challenge : null;
  return {
    ...v,
    kind: "room",
    title: toText(v.title, 200),
    closed: v.closed === true,
    locked: v.locked === true,
    participants: (Array.isArray(v.participants) ? v.participants : []).filter((p) => isObject(p) && toId(p.id))
      .map((p) => ({ ...p, id: p.id, name: toText(p.name, 100), run_id: toId(p.run_id) })),
    follow: { spec: isObject(follow.spec) ? follow.spec : null, run_id: toId(follow.run_id), lesson },
    challenge: c && {
      ...c, title: toText(c.title, 200), dataset: isObject(c.dataset) ? c.dataset : {},
      max_parameters: int(c.max_parameters), max_epochs: int(c.max_epochs),
    },
    leaderboard: (Array.isArray(v.leaderboard) ? v.leaderboard : []).filter(isObject).map((e) => ({
      rank: int(e.rank), name: toText(e.name, 100), accuracy: num(e.accuracy), parameters: int(e.parameters),
    })),
  };
}

/** A class-wall tile update (the `wall` event), or null; its picture (a boundary, or an
 * image run's filters) is checked by sanitize-wall.js, and dropped when it does not fit. */
export function coerceWallEvent(raw) {
  if (!isObject(raw) || !toId(raw.participant)) return null;
  return { ...raw, epoch: int(raw.epoch) ?? 0, val_metric: num(raw.val_metric), run_id: toId(raw.run_id),
    state: RUN_STATES.includes(raw.state) ? raw.state : "", ...wallPicture(raw),
    problem: ["binary", "multiclass", "regression"].includes(raw.problem) ? raw.problem : "binary" };
}

/** A lesson file -> its steps with texts as strings (the settings are coerced when loaded). */
export function coerceLesson(raw) {
  const l = isObject(raw) ? raw : {};
  const steps = (Array.isArray(l.steps) ? l.steps : []).filter(isObject).map((s) => ({
    title: toText(s.title, 300), text: toText(s.text, 5000), try: toText(s.try, 2000), watch: toText(s.watch, 2000),
    settings: isObject(s.settings) ? s.settings : {},
  }));
  if (!steps.length) steps.push({ title: "", text: "This lesson has no steps.", try: "", watch: "", settings: {} });
  return { id: toId(l.id), title: toText(l.title, 300), steps };
}
