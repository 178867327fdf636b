// The participant's page: loads the catalog once, reads the address, holds the settings
// being edited (the draft) and wires the parts together, each owning its own elements:
// the settings form (controls.js), the plot and the data (dataview.js), the network
// diagram (network.js), the code (codepanel.js), the run (run.js), the lesson panel
// (lesson.js) and, in a room, the room bar (room.js). Parts change the draft only through `edit`; `changed` tells the
// others.

import { api } from "./api.js";
import { copyText, flash } from "./code.js";
import { createCodePanel } from "./codepanel.js";
import { createControls } from "./controls.js";
import { createDataView } from "./dataview.js";
import { createImageMode } from "./imagemode.js";
import { createLessonPanel } from "./lesson.js";
import { NetworkView } from "./network.js";
import { report } from "./problems.js";
import { startRoom } from "./room.js";
import { createRun } from "./run.js";
import { coerceSpec, coerceView, warningFor } from "./sanitize.js";
import { needsNewRun, outputUnits, sameSpec, specToSend } from "./spec.js";
import { clone, readUrl, urlFor } from "./state.js";

const $ = (id) => document.getElementById(id);

const draft = {
  spec: null,
  view: { showVal: false, showTest: false, discretize: false, logScale: false, trueBoundary: true },
  hide: [],
};
// What the page-rendering benchmark reads: frames received, and the milliseconds spent on them
// (decoding, the network diagram; the boundary's own drawing is timed in BoundaryView).
const stats = { framesReceived: 0, frameMs: 0 };
let catalog, controls, dataview, network, code, run, images;
let room = null; // the room bar's side, when the page is opened in a room (?room=CODE)
let lesson = null; // the lesson panel
let shown = null; // the draft as last shown: what an edit changed

/** Edit the draft: `change(spec)` changes it in place or returns a new spec. */
function edit(change) {
  const next = change(draft.spec);
  if (next) draft.spec = next;
  changed();
}

/** The draft changed: the address, the run (`needsNewRun`), and every view of the settings. */
function changed() {
  const spec = draft.spec;
  history.replaceState(null, "", urlFor(spec, draft.view, draft.hide));
  report("run", []); // they were about the settings before this change; the previews recheck it
  run.follow(spec);
  controls.sync(spec);
  dataview.sync(spec);
  run.showDraft(spec);
  const image = images.sync(spec); // image mode (imagemode.js) or the plane of points
  if (!shown || !sameSpec(shown.dataset, spec.dataset)) (image ? images : dataview).showData(spec);
  code.show(spec);
  if (!image && (!shown || needsNewRun(shown, spec))) rebuildNetwork();
  shown = clone(spec);
}

function setView(key, on) {
  draft.view[key] = on;
  showView();
  history.replaceState(null, "", urlFor(draft.spec, draft.view, draft.hide));
}

function showView() {
  dataview.setOptions(draft.view);
  run.setLogScale(draft.view.logScale);
}

function rebuildNetwork() {
  const spec = draft.spec;
  network.setStructure({
    features: spec.features, layers: spec.layers, activations: catalog.activations,
    maxUnits: catalog.limits.max_units, extent: dataview.extent(), outputs: outputUnits(spec, catalog),
  });
}

function onFrame(frame, kind) {
  const began = performance.now();
  if (frame.image || frame.scope) images.showFrame(frame); // an image run's frame (filters, maps, gallery) or a microscopy one's
  else {
    dataview.showFrame(frame, kind);
    network.update(frame);
  }
  stats.framesReceived++;
  stats.frameMs += performance.now() - began;
}

/** Settings from elsewhere (a lesson step, the instructor): checked like a link, then loaded. */
function applySpec(spec, what = "The shared settings") {
  const shared = coerceSpec(spec, catalog);
  report("shared", warningFor(what, shared.problems));
  edit(() => shared.spec);
}

function applyHidden() {
  for (const name of draft.hide) document.querySelectorAll(`[data-hide="${name}"]`).forEach((el) => { el.hidden = true; });
}

async function start() {
  const opened = location.search; // the link as given (the page rewrites the address as it starts)
  try {
    catalog = await api.catalog();
  } catch (err) {
    report("page", [{ field: null, msg: `The playground cannot start: ${err.message}` }]);
    return;
  }
  // The link is someone else's text: every field is checked against the catalog first.
  const fromUrl = readUrl(catalog.exercises);
  const linked = coerceSpec(fromUrl.spec ?? {}, catalog);
  const viewed = coerceView(fromUrl.view ?? {});
  draft.spec = linked.spec;
  draft.hide = fromUrl.hide;
  Object.assign(draft.view, viewed.view);
  const warning = fromUrl.warning ? [{ field: null, msg: fromUrl.warning }]
    : warningFor("The link's settings", [...linked.problems, ...viewed.problems]);

  network = new NetworkView($("network"), $("link-tip"), {
    onChange: (layers) => edit((spec) => { spec.layers = layers; }),
    onHover: (target) => dataview.hover(target),
  });
  dataview = createDataView({ catalog, spec: () => draft.spec, edit, onExtent: (extent) => network.setExtent(extent) });
  code = createCodePanel();
  controls = createControls({ catalog, edit, setView });
  images = createImageMode({ catalog, edit, spec: () => draft.spec, run: () => run.current(),
    onTotal: (total) => controls.showParameters(total) });
  run = createRun({
    catalog,
    draft: () => draft.spec,
    onFrame,
    onEpoch: (event) => images.showEpoch(event), // a microscopy run's chart
    onCleared: () => { dataview.clearFrame(); network.update(null); images.clear(); code.setModel(null); },
    onChange: () => room?.runChanged(),
    onCreated: (created) => room?.runCreated(created),
    onDone: (done, ended) => {
      controls.showParameters(done.parameters);
      images.showDone(done); // a microscopy run's scores beside its baselines
      code.setModel(done.epochs > 0 ? ended.id : null);
    },
  });
  $("share").onclick = async () => {
    const ok = await copyText(location.href, $("share"));
    flash($("share"), ok ? "Link copied" : "Copy the address bar");
  };

  applyHidden();
  controls.showView(draft.view);
  showView();
  changed();
  report("link", warning);
  window.playground = { // for the end-to-end tests, the page benchmark and the curious: to read
    page: { get spec() { return draft.spec; }, get view() { return draft.view; }, get run() { return run.current(); },
      get catalog() { return catalog; } },
    boundary: dataview.boundary, curves: run.curves, network, images, stats, get room() { return room; },
    get lesson() { return lesson; },
  };
  lesson = createLessonPanel({ catalog, applySpec, opened });
  await lesson.ready;
  room = await startRoom({
    catalog,
    lesson,
    applySpec,
    spec: () => specToSend(draft.spec),
    run: () => run.current(),
  });
  document.body.dataset.ready = "true";
}

start();
