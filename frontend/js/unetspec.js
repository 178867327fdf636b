// The rules of microscopy runs (issue 16) the page needs, with no DOM: which data sets are
// microscopy ones (kind "segmentation" or "restoration"), a U-Net spec (`unet`) from outside
// coerced within the catalog's limits, the losses each output may train with, and what the
// server sends about them (the data preview, frames' `output`, epochs' extras, the scores at
// the end, an uploaded image's answer) checked before the page draws it.

import { base64Of } from "./sanitize-wall.js";

const KINDS = ["segmentation", "restoration"];
/** The outputs a kind may have; the first is the one a data set starts with. */
export const OUTPUTS = { segmentation: ["foreground", "three_class"], restoration: ["restored"] };
/** A U-Net's fields when a spec leaves them out (the server's own defaults, docs: issue 16). */
export const UNET_DEFAULTS = { depth: 2, base_filters: 8, batchnorm: true, dropout: 0, patch: 64 };
export const UNET_FIELDS = ["depth", "base_filters", "batchnorm", "dropout", "output", "patch"];
const THREE_CLASS_LOSS = "categorical_crossentropy";

const isObject = (value) => value !== null && typeof value === "object" && !Array.isArray(value);
const finite = (v) => typeof v === "number" && Number.isFinite(v);
const isInt = (v, low = 0, high = 1e7) => Number.isInteger(v) && v >= low && v <= high;
const num = (v) => (finite(v) ? v : null);
const bytesOf = base64Of; // base64 of exactly `count` bytes, padding included

/** The catalog's entry of the spec's data set when it is a microscopy one, else null. */
export function scopeEntry(spec, catalog) {
  const entry = catalog?.datasets?.find((d) => d.name === spec?.dataset?.name);
  return entry?.input === "image" && KINDS.includes(entry.kind) ? entry : null;
}

/** The losses a U-Net of this kind and output may train with (the catalog's). */
export function lossesFor(catalog, kind, output) {
  if (output === "three_class") return [THREE_CLASS_LOSS];
  return catalog.losses_by_kind?.[kind] ?? [];
}

/** The side of the data set's images (its `size` parameter, or its default). */
export function imageSide(spec, entry) {
  const size = entry?.params?.find((p) => p.name === "size");
  return spec?.dataset?.params?.size ?? size?.default ?? entry?.shape?.[0] ?? 64;
}

/** A complete U-Net: the given fields over the defaults and the data set's suggestion. */
export function fullUnet(entry, given = {}) {
  return { ...UNET_DEFAULTS, output: OUTPUTS[entry.kind][0], ...(entry.suggested?.unet ?? {}), ...given };
}

/** `unet` from outside (`check`: sanitize.js's Checker) -> a U-Net within the catalog's
 * limits whose output fits the data set's kind. */
export function coerceUnet(raw, entry, catalog, check) {
  const { limits } = catalog;
  const given = check.object("unet", raw);
  check.only("unet", given, UNET_FIELDS);
  const base = fullUnet(entry);
  const n = (name, high, { low = 1, integer = true } = {}) => check.number(`unet.${name}`, given[name], base[name],
    { low, high, integer });
  const unet = {
    depth: n("depth", limits.max_unet_depth ?? 4),
    base_filters: n("base_filters", limits.max_base_filters ?? 32),
    batchnorm: base.batchnorm,
    dropout: n("dropout", limits.max_dropout ?? 0.9, { low: 0, integer: false }),
    output: check.name("unet.output", given.output, OUTPUTS[entry.kind], base.output),
    patch: n("patch", limits.max_patch ?? 128, { low: limits.min_patch ?? 16 }),
  };
  if (given.batchnorm !== undefined) {
    if (typeof given.batchnorm === "boolean") unet.batchnorm = given.batchnorm;
    else check.note("unet.batchnorm", "was not true or false");
  }
  return unet;
}

/** The U-Net rules of a coerced spec (in place): a microscopy data set has a U-Net (the
 * link's, checked, or its suggested one), no layers and no augmentation, a loss that fits
 * its output; any other data set has no U-Net. */
export function coerceScopeSpec(spec, given, catalog, check) {
  const entry = scopeEntry(spec, catalog);
  if (!entry) {
    if (given.unet !== undefined && given.unet !== null) check.note("unet", "is for microscopy data sets only (dropped)");
    return spec;
  }
  spec.unet = given.unet === undefined || given.unet === null ? fullUnet(entry) : coerceUnet(given.unet, entry, catalog, check);
  if (spec.layers.length) {
    check.note("layers", "are not used by a U-Net (dropped)");
    spec.layers = [];
  }
  delete spec.training.augment;
  const losses = lossesFor(catalog, entry.kind, spec.unet.output);
  if (spec.training.loss && !losses.includes(spec.training.loss)) {
    check.note("training.loss", `does not fit this network's output (${losses.join(", ")})`);
    spec.training.loss = losses[0] ?? null;
  }
  return spec;
}

// ---------------------------------------------------------------- what the server sends

/** An ImageMap ({height, width, channels, low, high, data: base64 [channels][h][w]}), or null. */
export function coerceImageMap(m) {
  if (!isObject(m) || !isInt(m.height, 1, 1024) || !isInt(m.width, 1, 1024) || !isInt(m.channels, 1, 3)
    || !finite(m.low) || !finite(m.high) || !bytesOf(m.data, m.channels * m.height * m.width)) return null;
  return { height: m.height, width: m.width, channels: m.channels, low: m.low, high: m.high, data: m.data };
}

/** A microscopy run's frame (the network's output for the probe image), or null. */
export function coerceScopeFrame(e) {
  const output = coerceImageMap(e.output);
  if (!output) return null;
  return { ...e, kind: "scope_frame", scope: true, output, probe_index: isInt(e.probe_index) ? e.probe_index : 0 };
}

/** An epoch's extras (validation IoU, pixel accuracy, all-background accuracy, SSIM): numbers only. */
export function coerceExtras(raw) {
  if (!isObject(raw)) return null;
  const extras = {};
  for (const key of ["val_iou", "val_pixel_accuracy", "background_accuracy", "val_ssim"]) extras[key] = num(raw[key]);
  return extras;
}

function scores(raw) {
  return isObject(raw) ? { psnr: num(raw.psnr), ssim: num(raw.ssim), dice: num(raw.dice) } : null;
}

/** The microscopy figures of a `done` event ({} for any other run). */
export function coerceScopeDone(e) {
  if (e.metric_name !== "dice" && e.metric_name !== "psnr") return {};
  const b = isObject(e.baselines) ? e.baselines : {};
  const baselines = {};
  for (const key of ["otsu", "noisy", "gaussian", "median"]) baselines[key] = scores(b[key]);
  const out = { metric_name: e.metric_name, baselines };
  for (const key of ["dice", "iou", "pixel_accuracy", "background_accuracy", "instance_f1", "psnr", "ssim"]) {
    out[key] = num(e[key]);
  }
  out.instances = isInt(e.instances) ? e.instances : null;
  out.true_instances = isInt(e.true_instances) ? e.true_instances : null;
  return out;
}

/** `POST /api/preview/data`'s answer for a microscopy data set, checked, or null. */
export function coerceScopePreview(raw) {
  if (!isObject(raw) || !KINDS.includes(raw.kind) || !Array.isArray(raw.shape) || !isInt(raw.shape[0], 1, 1024)
    || !isInt(raw.shape[1], 1, 1024)) return null;
  const [h, w] = raw.shape;
  const p = raw.probe, t = raw.train;
  if (!isObject(p) || !bytesOf(p.image, h * w) || !bytesOf(p.truth, h * w)) return null;
  if (!isObject(t) || !isInt(t.count, 0, 100) || !bytesOf(t.images, t.count * h * w) || !bytesOf(t.truth, t.count * h * w)) {
    return null;
  }
  const range = (low, high) => (finite(low) && finite(high) ? [low, high] : null);
  return { kind: raw.kind, h, w, probe: { index: isInt(p.index) ? p.index : 0, image: p.image, truth: p.truth,
    range: range(p.low, p.high), truthRange: range(p.truth_low, p.truth_high) }, train: { count: t.count, images: t.images, truth: t.truth } };
}

/** `POST /api/runs/{id}/apply`'s answer, checked, or null. */
export function coerceApplied(raw) {
  if (!isObject(raw)) return null;
  const output = coerceImageMap(raw.output);
  if (!output) return null;
  const mask = bytesOf(raw.mask, output.height * output.width) ? raw.mask : null;
  return { height: output.height, width: output.width, output, mask };
}
