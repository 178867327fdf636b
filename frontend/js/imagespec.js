// The rules of image runs the page needs, with no DOM: which data sets are images, a layer
// of any type with its fields as the catalog gives them (`layer_types`: defaults, ranges,
// choices), the augmentation, and what the server sends about images (previews, frames,
// predictions) checked before the page draws it. Every bound is the catalog's.

import { base64Of } from "./sanitize-wall.js";

const isObject = (value) => value !== null && typeof value === "object" && !Array.isArray(value);
const isInt = (v, low = 0, high = 1e7) => Number.isInteger(v) && v >= low && v <= high;
const finite = (v) => typeof v === "number" && Number.isFinite(v);
const ints = (list, low, high) => Array.isArray(list) && list.every((v) => isInt(v, low, high));
const numbers = (list) => Array.isArray(list) && list.every(finite);
const bytesOf = base64Of; // base64 of exactly `count` bytes, padding included

/** The catalog's entry of the spec's data set when it is an image data set, else null. */
export function imageEntry(spec, catalog) {
  const entry = catalog?.datasets?.find((d) => d.name === spec?.dataset?.name);
  return entry?.input === "image" ? entry : null;
}

export const isImageSpec = (spec, catalog) => Boolean(imageEntry(spec, catalog));

/** The fields of a layer type ({} for one without fields, null for an unknown type). */
export function layerFields(type, catalog) {
  const types = catalog.layer_types ?? {};
  return Object.hasOwn(types, type) ? types[type] : null;
}

/** A layer of `type` with every field: the given value where there is one, else the default. */
export function fullLayer(type, given, catalog) {
  const layer = { type };
  for (const [name, field] of Object.entries(layerFields(type, catalog) ?? {})) {
    layer[name] = given?.[name] ?? field.default;
  }
  return layer;
}

/** A layer of any type from outside (`check`: sanitize.js's Checker) -> a layer that fits
 * the catalog, or null when its type is unknown (the caller then makes it a dense layer). */
export function coerceTypedLayer(given, path, catalog, check) {
  const fields = layerFields(given.type, catalog);
  if (!fields) return null;
  const { type, ...rest } = given;
  check.only(path, rest, Object.keys(fields));
  const layer = { type };
  for (const [name, field] of Object.entries(fields)) {
    layer[name] = field.choices
      ? check.name(`${path}.${name}`, given[name], field.choices, field.default)
      : check.number(`${path}.${name}`, given[name], field.default,
        { low: field.low, high: field.high, integer: field.integer });
  }
  return layer;
}

/** `training.augment` from outside: shift and rotation within the catalog's limits, flip true/false. */
export function coerceAugment(raw, catalog, check) {
  const given = check.object("training.augment", raw);
  check.only("training.augment", given, catalog.fields.augment ?? ["shift", "flip", "rotate"]);
  const { limits } = catalog;
  const augment = {
    shift: check.number("training.augment.shift", given.shift, 0, { low: 0, high: limits.max_shift }),
    flip: false,
    rotate: check.number("training.augment.rotate", given.rotate, 0, { low: 0, high: limits.max_rotation }),
  };
  if (given.flip !== undefined) {
    if (typeof given.flip === "boolean") augment.flip = given.flip;
    else check.note("training.augment.flip", "was not true or false");
  }
  return augment;
}

/** A block of images ({count, labels, images: base64 [count][h][w]}) of `side` h x w, or null. */
function imageBlock(raw, h, w, classes) {
  if (!isObject(raw) || !isInt(raw.count, 0, 10000) || !ints(raw.labels, 0, classes - 1)
    || raw.labels.length !== raw.count || !bytesOf(raw.images, raw.count * h * w)) return null;
  return { count: raw.count, labels: raw.labels, images: raw.images };
}

/** `POST /api/preview/data`'s answer for an image data set, checked, or null. */
export function coerceImagePreview(raw) {
  if (!isObject(raw) || raw.input !== "image" || !ints(raw.shape, 1, 1024) || raw.shape.length !== 3) return null;
  const [h, w] = raw.shape;
  const classes = Array.isArray(raw.classes) ? raw.classes.slice(0, 100).map((c) => String(c).slice(0, 60)) : [];
  if (!classes.length) return null;
  const train = imageBlock(raw.train, h, w, classes.length), gallery = imageBlock(raw.gallery, h, w, classes.length);
  if (!train || !gallery) return null;
  return { kind: raw.kind === "binary" ? "binary" : "multiclass", classes, shape: raw.shape, train, gallery };
}

function filterSet(f) {
  return isObject(f) && isInt(f.layer, 0, 99) && isInt(f.filters, 1, 256) && isInt(f.channels, 1, 256)
    && isInt(f.size, 1, 16) && finite(f.scale) && bytesOf(f.data, f.filters * f.channels * f.size * f.size);
}

function mapSet(m) {
  return isObject(m) && isInt(m.layer, 0, 99) && ["conv2d", "maxpool2d"].includes(m.type)
    && isInt(m.height, 1, 1024) && isInt(m.width, 1, 1024) && isInt(m.channels, 1, 1024) && isInt(m.total, 1, 4096)
    && Array.isArray(m.ranges) && m.ranges.length === m.channels && m.ranges.every((r) => numbers(r) && r.length === 2)
    && bytesOf(m.data, m.channels * m.height * m.width);
}

/** Feature maps as frames and predictions carry them: the usable ones. */
export function coerceMaps(raw) {
  return Array.isArray(raw) ? raw.filter(mapSet) : [];
}

/** An image run's frame (filters, feature maps, probe, gallery), or null when it is none. */
export function coerceImageFrame(e) {
  if (!Array.isArray(e.filters) && !Array.isArray(e.feature_maps)) return null;
  const probe = isObject(e.probe) && isInt(e.probe.index, 0, 10000) && isInt(e.probe.label, 0, 1000)
    && numbers(e.probe.probabilities) ? e.probe : null;
  const g = e.gallery;
  const gallery = isObject(g) && ints(g.indices, 0, 10000) && ints(g.predicted, 0, 1000)
    && g.predicted.length === g.indices.length && numbers(g.confidence) && isInt(g.wrong) && isInt(g.total) ? g : null;
  return { ...e, image: true, filters: (Array.isArray(e.filters) ? e.filters : []).filter(filterSet),
    feature_maps: coerceMaps(e.feature_maps), probe, gallery };
}

/** `POST /api/runs/{id}/predict`'s answer, checked (null when unusable). */
export function coercePrediction(raw, side) {
  if (!isObject(raw) || !numbers(raw.probabilities) || !isInt(raw.predicted, 0, 1000)) return null;
  const [h, w] = side;
  return { epoch: isInt(raw.epoch) ? raw.epoch : null, probabilities: raw.probabilities, predicted: raw.predicted,
    image: bytesOf(raw.image, h * w) ? raw.image : null, feature_maps: coerceMaps(raw.feature_maps) };
}

/** "14×14×8" for an output shape. */
export function shapeText(shape) {
  return Array.isArray(shape) ? shape.join("\u00d7") : "";
}
