// The data panel of an image data set: a grid of its first training images with their
// class names (POST /api/preview/data), and the augmentation a run trains with (shift,
// flip, rotation: `training.augment`, within the catalog's limits). It also keeps the
// previewed images for the output views: the gallery's and the probe's come from here.

import { problemsOf, report } from "./problems.js";
import { coerceImagePreview } from "./imagespec.js";
import { decodeBase64, paint, pixelCanvas, textEl } from "./pixels.js";
import { specToSend } from "./spec.js";

const $ = (id) => document.getElementById(id);
const SHOWN = 48; // training images in the grid

/** The spec sent for the data preview: the data set alone matters, so the layer stack is
 * one that always works (an unfinished stack must not hide the data). */
function dataSpec(spec) {
  const sent = specToSend(spec);
  sent.layers = [{ type: "flatten" }];
  return sent;
}

/** The images a run of `spec` trains on and is tested on (POST /api/preview/data), checked
 * and decoded: {classes, shape, h, w, train, gallery, trainBytes, galleryBytes}. Throws when
 * the server's answer cannot be read. The page's data panel and the demo screen use it. */
export async function previewImages(api, spec) {
  const answer = coerceImagePreview(await api.previewData(dataSpec(spec)));
  if (!answer) throw new Error("The server's images could not be read.");
  const [h, w] = answer.shape;
  return { ...answer, h, w, trainBytes: decodeBase64(answer.train.images), galleryBytes: decodeBase64(answer.gallery.images) };
}

/** hooks: {catalog, api, edit(change), onData(data): new images were previewed (or null)}. */
export function createImageData({ catalog, api, edit, onData }) {
  const { limits } = catalog;
  let data = null, request = 0;

  const shift = $("augment-shift"), rotate = $("augment-rotate"), flip = $("augment-flip");
  Object.assign(shift, { min: 0, max: limits.max_shift, step: limits.max_shift / 30 });
  Object.assign(rotate, { min: 0, max: limits.max_rotation, step: 1 });
  const showShift = (v) => { $("augment-shift-value").textContent = `${Math.round(v * 100)} %`; };
  const showRotate = (v) => { $("augment-rotate-value").textContent = `${Math.round(v)}°`; };
  const setAugment = (key, value) => edit((s) => {
    s.training.augment = { shift: 0, flip: false, rotate: 0, ...(s.training.augment ?? {}), [key]: value };
  });
  shift.oninput = () => showShift(Number(shift.value));
  rotate.oninput = () => showRotate(Number(rotate.value));
  shift.onchange = () => setAugment("shift", Number(shift.value));
  rotate.onchange = () => setAugment("rotate", Number(rotate.value));
  flip.onchange = () => setAugment("flip", flip.checked);

  /** Preview the images of the draft `spec` (the newest request wins). */
  async function showData(spec) {
    const ticket = ++request;
    data = null;
    onData(null);
    $("train-images").replaceChildren(textEl("p", "Drawing the images…", "hint"));
    try {
      const previewed = await previewImages(api, spec);
      if (ticket !== request) return;
      data = previewed;
      drawGrid();
      report("data", []);
      onData(data);
    } catch (err) {
      if (ticket !== request) return;
      $("train-images").replaceChildren();
      report("data", problemsOf(err));
    }
  }

  function drawGrid() {
    const { h, w, train, classes } = data;
    $("image-data-note").textContent = `${h}×${w} pixels, ${classes.length} classes: ${classes.join(", ")}. `
      + `The first ${Math.min(SHOWN, train.count)} training images:`;
    $("train-images").replaceChildren(...Array.from({ length: Math.min(SHOWN, train.count) }, (_, i) => {
      const figure = document.createElement("figure");
      figure.append(paint(pixelCanvas(h, w), data.trainBytes, i * h * w, h, w),
        textEl("figcaption", classes[train.labels[i]] ?? String(train.labels[i])));
      return figure;
    }));
  }

  /** Show the draft's augmentation (a control being dragged keeps its place). */
  function sync(spec) {
    const a = spec.training.augment ?? {};
    if (document.activeElement !== shift) { shift.value = a.shift ?? 0; showShift(a.shift ?? 0); }
    if (document.activeElement !== rotate) { rotate.value = a.rotate ?? 0; showRotate(a.rotate ?? 0); }
    flip.checked = Boolean(a.flip);
  }

  return { showData, sync, data: () => data };
}
