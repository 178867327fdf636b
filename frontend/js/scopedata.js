// The data panel of a microscopy data set: its first training images, each beside its
// ground truth (segmentation: the image with the nuclei's outlines; restoration: the clean
// image), from POST /api/preview/data. It keeps the previewed probe image for the output
// views: the frames' output is the network's answer for exactly that image.

import { problemsOf, report } from "./problems.js";
import { decodeBase64, textEl } from "./pixels.js";
import { figure, paintGrey, paintOutline, scopeCanvas } from "./scopepixels.js";
import { specToSend } from "./spec.js";
import { coerceScopePreview } from "./unetspec.js";

const $ = (id) => document.getElementById(id);

/** The microscopy data of `spec` (POST /api/preview/data), checked and decoded. Throws when
 * the server's answer cannot be read. */
export async function previewScope(api, spec) {
  const sent = specToSend(spec);
  sent.layers = [];
  const answer = coerceScopePreview(await api.previewData(sent));
  if (!answer) throw new Error("The server's images could not be read.");
  return { ...answer, probeImage: decodeBase64(answer.probe.image), probeTruth: decodeBase64(answer.probe.truth),
    trainImages: decodeBase64(answer.train.images), trainTruth: decodeBase64(answer.train.truth) };
}

/** hooks: {api, onData(data): new images were previewed (or null)}. */
export function createScopeData({ api, onData }) {
  let data = null, request = 0;

  function drawGrid() {
    const { h, w, kind, train } = data;
    const segmentation = kind === "segmentation";
    $("scope-data-note").textContent = `${h}×${w} pixels. The first ${train.count} training images, each beside `
      + (segmentation ? "its truth: the nuclei's outlines (orange), drawn from the exact masks."
        : "its truth: the clean image the noisy one was made from.");
    $("scope-train").replaceChildren(...Array.from({ length: train.count }, (_, i) => {
      const image = paintGrey(scopeCanvas(h, w, `training image ${i + 1}`), data.trainImages, i * h * w, h, w);
      const truth = segmentation
        ? paintOutline(scopeCanvas(h, w, `its truth`), data.trainImages, data.trainTruth, i * h * w, h, w)
        : paintGrey(scopeCanvas(h, w, `its clean image`), data.trainTruth, i * h * w, h, w);
      const pair = figure(image, "");
      pair.className = "scope-pair";
      pair.lastChild.textContent = `${i + 1}: image | ${segmentation ? "truth" : "clean"}`;
      pair.insertBefore(truth, pair.lastChild);
      return pair;
    }));
  }

  /** Preview the images of the draft `spec` (the newest request wins). */
  async function showData(spec) {
    const ticket = ++request;
    data = null;
    onData(null);
    $("scope-train").replaceChildren(textEl("p", "Drawing the images…", "hint"));
    try {
      const previewed = await previewScope(api, spec);
      if (ticket !== request) return;
      data = previewed;
      drawGrid();
      report("data", []);
      onData(data);
    } catch (err) {
      if (ticket !== request) return;
      $("scope-train").replaceChildren();
      report("data", problemsOf(err));
    }
  }

  return { showData, data: () => data };
}
