// The run: Train, Pause, Step, Stop and Reset (and their keys); the run's life on the
// server (created, streamed, controlled, ended); and what shows it: the epoch of its
// total, the progress, its state, its metrics and curves, how it ended. A run keeps a copy
// of the spec it was started with, and every view of it reads that copy, never the
// settings being edited: `follow(draft)` applies the one rule of what an edit does to it.

import { api, ApiError } from "./api.js";
import { Curves } from "./charts.js";
import { confusionTable } from "./imageviews.js";
import { foldEvent, formatMetric, metricName, metricTitle, runState } from "./metrics.js";
import { problemsOf, report } from "./problems.js";
import { datasetInfo, liveChanges, needsNewRun, problemKindOf, specToSend } from "./spec.js";
import { RunStream, goneMessage } from "./stream.js";

const $ = (id) => document.getElementById(id);
const STATE_WORDS = { queued: "queued", running: "training", paused: "paused" };
const DONE_WORDS = { finished: "finished", stopped: "stopped",
  early_stopped: "stopped early: validation loss no longer improved", diverged: "diverged" };
const FIGURES = ["train-accuracy", "val-accuracy", "test-accuracy"];
// A microscopy run's metric: the Dice score (segmentation) or the PSNR in dB (restoration).
const SCOPE_METRICS = { segmentation: ["Dice", "Dice"], restoration: ["PSNR", "PSNR (dB)"] };
function format(value, kind) {
  if (typeof value !== "number" || !Number.isFinite(value)) return formatMetric(value, kind);
  if (kind === "restoration") return `${value.toFixed(2)} dB`;
  return kind === "segmentation" ? value.toFixed(3) : formatMetric(value, kind);
}

/** hooks: {catalog, draft(): the spec being edited, onFrame(frame, kind), onEpoch(event, run),
 * onCleared(): the run's views are gone, onChange(run), onCreated(run), onDone(done, run)}. */
export function createRun(hooks) {
  const { catalog } = hooks;
  const curves = new Curves($("loss-chart"), $("metric-chart"));
  let run = null; // {id, token, spec, asked, stream, ...runState()}

  $("train").onclick = train;
  $("pause").onclick = togglePause;
  $("step").onclick = step;
  $("stop").onclick = () => control("stop");
  $("reset").onclick = reset;
  document.addEventListener("keydown", (e) => {
    if (e.target.closest("input, select, textarea") || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === " " && !e.target.closest("button")) { e.preventDefault(); if (isRunning()) togglePause(); else train(); }
    if (e.key === ".") step();
  });

  const live = () => Boolean(run && !run.done);
  const isRunning = () => live() && run.state !== "paused";

  function setRunState(text) {
    $("run-state").textContent = text;
  }

  function syncButtons() {
    hooks.onChange(run);
    const paused = live() && run.state === "paused";
    $("pause").disabled = !live();
    $("stop").disabled = !live();
    $("pause").textContent = paused ? "\u25B6 Resume" : "\u275A\u275A Pause";
    $("train").disabled = live() && !paused;
    $("train").textContent = paused ? "\u25B6 Resume" : "\u25B6 Train";
    document.body.classList.toggle("training", live() && run.state === "running");
  }

  /** The total and the metric's name: the run's own, or (no run) what the draft would train. */
  function showTotals(spec, kind) {
    $("epoch-total").textContent = `/ ${spec.training.epochs ?? "?"}`;
    const [name, title] = SCOPE_METRICS[kind] ?? [metricName(kind), metricTitle(kind)];
    $("train-metric-name").textContent = `train ${name}`;
    $("val-metric-name").textContent = `validation ${name}`;
    $("test-metric-name").textContent = `test ${name}`;
    curves.setMetricName(title);
  }

  function showDraft(draft) {
    if (!run) showTotals(draft, problemKindOf(draft, catalog));
  }

  function showFigures() {
    $("epoch").textContent = run.epoch;
    $("progress-bar").style.width = `${Math.min(100, (100 * run.epoch) / run.spec.training.epochs)}%`;
    $("train-accuracy").textContent = format(run.metric, run.kind);
    $("val-accuracy").textContent = format(run.valMetric, run.kind);
  }

  function clear() {
    curves.clear();
    hooks.onCleared();
    $("epoch").textContent = "0";
    $("progress-bar").style.width = "0";
    for (const id of FIGURES) $(id).textContent = "–";
    $("diverged").hidden = true;
    $("live-lr").textContent = "";
    $("confusion").replaceChildren();
  }

  async function startRun(paused) {
    report("run", []);
    run?.stream?.close();
    clear();
    setRunState("starting…");
    const spec = specToSend(hooks.draft());
    try {
      const created = await api.createRun(spec, paused);
      run = { id: created.id, token: created.token, spec, asked: { learning_rate: spec.training.learning_rate },
        ...runState(problemKindOf(spec, catalog)) };
      showTotals(spec, run.kind);
      setRunState("queued");
      syncButtons();
      const mine = run;
      run.stream = new RunStream(created.id, { onEvent: (event) => onEvent(mine, event), onConnection: showConnection,
        onGone: (code, reason) => runGone(mine, code, reason) });
      hooks.onCreated(run);
      return run;
    } catch (err) {
      setRunState("");
      if (err instanceof ApiError && err.status === 429) {
        report("run", [{ field: null, msg: `${err.message} (try again in ${err.retryAfter ?? 5} s)` }]);
      } else {
        report("run", problemsOf(err));
      }
      return null;
    }
  }

  async function train() {
    if (live()) {
      if (run.state === "paused") await control("resume");
      return;
    }
    await startRun(false);
  }

  async function togglePause() {
    if (live()) await control(run.state === "paused" ? "resume" : "pause");
  }

  async function step() {
    if (!live() && !(await startRun(true))) return;
    await control("step");
  }

  /** Send a command to the current run; true once the server has taken it. */
  async function control(action, extra = {}) {
    const target = run;
    if (!target || target.done) return false;
    try {
      await api.control(target.id, target.token, action, extra);
      return true;
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) return false; // it ended meanwhile: its done event says how
      report("run", problemsOf(err));
      return false;
    }
  }

  /** Let go of the run (stopping it if it is live): its views are cleared. */
  function drop(words) {
    if (live()) control("stop");
    run?.stream?.close();
    run = null;
    setRunState(words);
    clear();
    syncButtons();
    showDraft(hooks.draft());
  }

  function reset() {
    report("run", []);
    drop("");
  }

  /** The draft was edited: a run that cannot follow it ends (its boundary would no longer
   * match); a live one takes what it can at once (the learning rate). */
  function follow(draft) {
    if (!run) return;
    if (needsNewRun(run.spec, draft)) {
      drop(live() ? "stopped: the settings changed; press Train" : "");
      return;
    }
    if (!live()) return;
    const change = liveChanges(run.asked, draft);
    if (Object.keys(change).length) {
      const target = run;
      control("learning_rate", change).then((taken) => { if (taken) Object.assign(target.asked, change); });
    }
  }

  /** The server says the run's stream is gone for good (it forgot the run, or refuses this page). */
  function runGone(mine, code, reason) {
    if (run !== mine || mine.done) return;
    mine.done = { kind: "error", state: "failed", message: goneMessage("run", code, reason) };
    setRunState("ended");
    report("run", [{ field: null, msg: mine.done.message }]);
    syncButtons();
  }

  function showConnection(state) {
    const badge = $("connection");
    badge.textContent = state === "reconnecting" ? "reconnecting…" : state === "live" ? "live" : "";
    badge.className = `badge ${state}`;
  }

  function onEvent(mine, event) {
    if (run !== mine) return; // a run the page has moved on from
    foldEvent(mine, event);
    switch (event.kind) {
      case "status":
        setRunState(event.state === "queued" && mine.queuePosition
          ? (mine.queuePosition === 1 ? "queued: next in line" : `queued: ${mine.queuePosition} ahead of you in line`)
          : STATE_WORDS[event.state] ?? event.state);
        syncButtons();
        break;
      case "start": // epoch 0, the untrained network: the curves' first point
        if (!curves.epochs.length) curves.add(event);
        showFigures();
        break;
      case "epoch":
        curves.add(event);
        showFigures();
        hooks.onEpoch?.(event, mine); // a microscopy run's extras: its own chart
        $("live-lr").textContent = `learning rate ${Number(event.learning_rate.toPrecision(4))}`;
        break;
      case "frame":
      case "image_frame": // an image run's: filters, feature maps, probe, gallery
      case "scope_frame": // a microscopy run's: the network's output for the probe image
        hooks.onFrame(event, mine.kind);
        break;
      case "done":
        showDone(mine, event);
        syncButtons();
        break;
      case "error":
        setRunState("failed");
        report("run", [{ field: null, msg: event.message }]);
        syncButtons();
        break;
    }
  }

  function showDone(mine, done) {
    // Early stopping keeps the weights of the epoch with the lowest validation loss: the
    // figures shown are then that epoch's, as the test set's are.
    const kept = done.best_epoch !== null && done.best_epoch !== undefined && done.best_epoch !== done.epochs
      ? done.best_epoch : null;
    setRunState((DONE_WORDS[done.state] ?? done.state)
      + (kept === null ? "" : `; kept the weights of epoch ${kept} (lowest validation loss)`));
    $("test-accuracy").textContent = format(done.test_metric, mine.kind);
    $("train-accuracy").textContent = format(kept === null ? mine.metric : done.metric, mine.kind);
    $("val-accuracy").textContent = format(kept === null ? mine.valMetric : done.val_metric, mine.kind);
    const box = $("diverged"); // what the server says about how the run ended, as text
    if (done.state === "diverged") {
      box.hidden = false;
      box.textContent = "The training diverged: the loss became infinite or not a number. "
        + `Lower the learning rate (now ${mine.asked.learning_rate}) and train again.`;
    } else if (done.message) {
      box.hidden = false;
      box.textContent = done.message;
    }
    const classes = datasetInfo(mine.spec, catalog)?.classes ?? null; // an image data set's class names
    if (done.confusion_matrix) {
      $("confusion").replaceChildren(confusionTable(done.confusion_matrix, classes, classes && done.per_class_accuracy));
    }
    hooks.onDone(done, mine);
  }

  syncButtons();
  return {
    current: () => run, follow, showDraft, reset,
    setLogScale: (on) => curves.setLogScale(on),
    curves, // read by the end-to-end tests (the epochs of the curve)
  };
}
