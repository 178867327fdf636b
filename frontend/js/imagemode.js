// The page's image mode (issue 15): when the chosen data set is made of images, the data
// panel shows images and the augmentation (imagedata.js), the network is a stack of layers
// (layerstack.js), and the output shows the filters, feature maps, probe and gallery
// (imageviews.js) and the image tools (imagetools.js). The page switches modes by the data
// set alone: `body.images` shows the image parts and hides the plane's. A microscopy data
// set (issue 16) is images too, shown by its own mode (scopemode.js: `body.scope` as well).

import { createImageData } from "./imagedata.js";
import { imageApi } from "./imageapi.js";
import { imageEntry } from "./imagespec.js";
import { mountImageTools } from "./imagetools.js";
import { createImageViews } from "./imageviews.js";
import { createLayerStack } from "./layerstack.js";
import { createScopeMode } from "./scopemode.js";

const $ = (id) => document.getElementById(id);

/** hooks: {catalog, edit(change), spec(): the draft, run(): the current run or null, onTotal(parameters)}. */
export function createImageMode({ catalog, edit, spec, run, onTotal }) {
  let on = false;
  const currentRun = () => {
    const r = run();
    return r && r.id ? { id: r.id, token: r.token, epoch: r.epoch } : null;
  };
  const data = createImageData({ catalog, api: imageApi, edit, onData: (d) => views.setData(d) });
  const views = createImageViews({ api: imageApi, data: data.data, run: currentRun });
  const stack = createLayerStack({ root: $("network"), catalog, api: imageApi, edit, onTotal });
  const scope = createScopeMode({ catalog, api: imageApi, edit, run: currentRun, onTotal });
  try {
    mountImageTools($("image-tools"), {
      api: imageApi,
      getRun: currentRun,
      getData: data.data,
      getCatalogEntry: () => imageEntry(spec(), catalog),
      onPrediction: (answer) => views.showAnswer(answer),
    });
  } catch (err) {
    console.warn("The image tools could not start:", err); // the rest of the page works without them
  }

  /** Show the draft `s` (true when it is an image spec: the page is then in image mode). */
  function sync(s) {
    const image = Boolean(imageEntry(s, catalog));
    const microscopy = scope.sync(s);
    if (image !== on) {
      on = image;
      document.body.classList.toggle("images", on);
      $("network").classList.toggle("stack", on);
      $("regenerate").textContent = on ? "New images" : "New points";
      if (!on) stack.hide();
    }
    if (on && microscopy) stack.hide(); // a U-Net instead of a layer stack
    else if (on) {
      data.sync(s);
      stack.show(s);
    }
    return on;
  }

  return {
    sync,
    showData: (s) => (scope.active() ? scope.showData(s) : data.showData(s)),
    showFrame: (frame) => (frame.scope ? scope.showFrame(frame) : views.showFrame(frame)),
    showEpoch: (event) => scope.showEpoch(event),
    showDone: (done) => scope.showDone(done),
    clear: () => { views.clear(); scope.clear(); },
    active: () => on,
    views, data: data.data, scope, // read by the end-to-end tests
  };
}
