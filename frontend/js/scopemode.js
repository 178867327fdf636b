// The page's microscopy mode (issue 16): when the chosen data set is a microscopy one (kind
// "segmentation" or "restoration"), the data panel shows training images beside their truth
// (scopedata.js), the network panel the U-Net's settings and blocks (unetpanel.js), the output
// panel what the network makes of the probe image, its scores and charts (scopeviews.js),
// and a section takes an image of your own (scopeapply.js). `body.scope` shows these parts
// and hides image classification's (imagemode.js switches to this mode by the data set).

import { createScopeApply } from "./scopeapply.js";
import { createScopeData } from "./scopedata.js";
import { createScopeViews } from "./scopeviews.js";
import { createUnetPanel } from "./unetpanel.js";
import { scopeEntry } from "./unetspec.js";

const $ = (id) => document.getElementById(id);

/** hooks: {catalog, api, edit(change), run(): {id, token, epoch} or null, onTotal(parameters)}. */
export function createScopeMode({ catalog, api, edit, run, onTotal }) {
  let on = false, kind = null;
  const data = createScopeData({ api, onData: () => views.showData() });
  const views = createScopeViews({ root: $("scope-views"), data: data.data, onThreshold: () => apply.drawMask() });
  const panel = createUnetPanel({ root: $("unet"), catalog, api, edit, onTotal });
  const apply = createScopeApply({ api, run, threshold: () => views.threshold(), kind: () => kind });

  /** Show the draft `s`; true when it is a microscopy spec (the page is then in this mode). */
  function sync(s) {
    const entry = scopeEntry(s, catalog);
    if (Boolean(entry) !== on) {
      on = Boolean(entry);
      document.body.classList.toggle("scope", on);
      if (!on) { panel.hide(); apply.clear(); }
    }
    if (on) {
      if (entry.kind !== kind) { kind = entry.kind; views.setKind(kind); apply.clear(); }
      panel.show(s);
    }
    return on;
  }

  return {
    sync, showData: data.showData,
    showFrame: (frame) => views.showFrame(frame),
    showEpoch: (event) => { if (on) views.showEpoch(event); },
    showDone: (done) => { if (on) views.showDone(done); },
    clear: () => { views.clear(); apply.clear(); },
    active: () => on,
    views, apply, data: data.data, // read by the end-to-end tests
  };
}
