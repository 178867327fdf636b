// Your own image through a microscopy run's network: a PNG or TIFF file is sent as it is
// (POST /api/runs/{id}/apply, its bytes, Content-Type image/png or image/tiff, the run's
// token) and the answer shown: the image (a PNG, as the browser draws it), the network's
// output (the probability of a nucleus, or the restored image) and, for segmentation, the
// mask at the page's threshold. "Download result" makes a PNG of the mask or the restored
// image from those numbers. The server's refusals are shown in its words.

import { problemsOf } from "./problems.js";
import { channel, figure, foreground, maskBytes, paintMask, paintProbability, paintValues, pngOf, scopeCanvas,
  toBytes } from "./scopepixels.js";
import { coerceApplied } from "./unetspec.js";

const $ = (id) => document.getElementById(id);
const MAX_BYTES = 8 * 1024 * 1024;

/** image/png or image/tiff from a file's type or, when the browser gives none, its name. */
export function mediaType(file) {
  if (["image/png", "image/tiff"].includes(file.type)) return file.type;
  if (/\.png$/i.test(file.name)) return "image/png";
  if (/\.tiff?$/i.test(file.name)) return "image/tiff";
  return file.type || "application/octet-stream"; // the server names what it takes
}

/** hooks: {api, run(): {id, token} or null, threshold(): the mask's threshold, kind(): the draft's kind}. */
export function createScopeApply({ api, run, threshold, kind }) {
  let result = null, ticket = 0; // {answer, values, kind, name}

  const status = (text) => { $("apply-status").textContent = text; };
  const fail = (text) => { $("apply-error").textContent = text; };

  async function picture(file, h, w) {
    if (mediaType(file) !== "image/png") return null; // a browser cannot draw a TIFF
    try {
      const bitmap = await createImageBitmap(file);
      const canvas = scopeCanvas(h, w, "your image");
      canvas.getContext("2d").drawImage(bitmap, 0, 0); // cropped as the server cropped it: from the top left
      return canvas;
    } catch {
      return null;
    }
  }

  function drawMask() {
    if (!result || result.kind !== "segmentation") return;
    const { height: h, width: w } = result.answer;
    paintMask(result.mask, result.values, h, w, threshold());
    result.maskCaption.textContent = `the mask: probability above ${threshold().toFixed(2)}`;
  }

  async function upload(file) {
    const mine = ++ticket;
    fail("");
    const current = run();
    if (!current) { fail("Train a network first: your image goes through the current run's network."); return; }
    if (file.size > MAX_BYTES) { fail("The file is larger than 8 MB."); return; }
    status("Applying the network…");
    $("apply-download").disabled = true;
    try {
      const raw = await api.apply(current.id, current.token, await file.arrayBuffer(), mediaType(file));
      if (mine !== ticket) return;
      const answer = coerceApplied(raw);
      if (!answer) throw new Error("The server's answer could not be read.");
      await show(answer, file, mine);
    } catch (err) {
      if (mine !== ticket) return;
      status("");
      fail(problemsOf(err).map((p) => p.msg).join("; "));
    }
  }

  async function show(answer, file, mine) {
    const { height: h, width: w, output } = answer;
    const segmentation = kind() === "segmentation";
    const image = await picture(file, h, w);
    if (mine !== ticket) return;
    const figures = [];
    figures.push(image ? figure(image, `your image (${w}×${h})`) : figure(document.createTextNode(""),
      `your image (${w}×${h}): a TIFF, which a browser cannot show`));
    if (segmentation) {
      const values = foreground(output);
      const mask = scopeCanvas(h, w, "the mask of your image");
      const maskFigure = figure(mask, "", "apply-mask");
      const maskCaption = maskFigure.lastChild;
      figures.push(figure(paintProbability(scopeCanvas(h, w, "the probability"), values, h, w),
        "predicted probability of a nucleus", "apply-output"), maskFigure);
      result = { answer, values, kind: "segmentation", mask, maskCaption, name: file.name };
      drawMask();
    } else {
      const values = channel(output, 0);
      figures.push(figure(paintValues(scopeCanvas(h, w, "the restored image"), values, h, w, output.low, output.high),
        "restored (the network)", "apply-output"));
      result = { answer, values, kind: "restoration", name: file.name };
    }
    $("apply-views").replaceChildren(...figures);
    status(`The network of epoch ${current()?.epoch ?? "?"} applied to ${file.name}.`);
    $("apply-download").disabled = false;
  }

  const current = () => run();

  async function download() {
    if (!result) return;
    const { height: h, width: w, output } = result.answer;
    const bytes = result.kind === "segmentation" ? maskBytes(result.values, threshold())
      : toBytes(result.values, output.low, output.high);
    try {
      const blob = await pngOf(bytes, h, w);
      const link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = `${result.name.replace(/\.[^.]*$/, "")}-${result.kind === "segmentation" ? "mask" : "restored"}.png`;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    } catch (err) {
      fail(err.message);
    }
  }

  $("apply-file").onchange = (e) => {
    const file = e.target.files?.[0];
    if (file) upload(file);
    e.target.value = ""; // the same file again applies again (a later epoch's network)
  };
  $("apply-download").onclick = download;

  /** Forget the shown result (a new run, another data set). */
  function clear() {
    ticket++;
    result = null;
    $("apply-views").replaceChildren();
    $("apply-download").disabled = true;
    status("");
    fail("");
  }

  return { drawMask, clear, result: () => result };
}
