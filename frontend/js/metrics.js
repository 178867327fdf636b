// A run as its events tell it, and its figures as every page shows them: the participant's
// page, the room bar's view of a shared run and the demo screen fold the same events into
// the same state and format a metric by the run's problem kind (accuracy as a percentage
// for classification, the mean absolute error as a number for regression).

import { api } from "./api.js";
import { problemKindOf } from "./spec.js";

/** A run's state before its first event. `kind`: its problem kind (null: not known). */
export function runState(kind = null) {
  return { kind, state: "queued", queuePosition: null, epoch: 0, loss: null, valLoss: null, metric: null,
    valMetric: null, testMetric: null, learningRate: null, frame: null, done: null };
}

/** Fold one (checked) event into `run`; returns `run`. */
export function foldEvent(run, event) {
  switch (event.kind) {
    case "status":
      run.state = event.state;
      run.queuePosition = event.queue_position ?? null;
      break;
    case "start": // epoch 0: the untrained network, before its first update
      if (run.epoch > 0) break;
      // falls through: its figures are those of an epoch
    case "epoch":
      Object.assign(run, { epoch: event.epoch, loss: event.loss, valLoss: event.val_loss, metric: event.metric,
        valMetric: event.val_metric, learningRate: event.learning_rate ?? run.learningRate });
      break;
    case "frame":
      run.frame = event;
      break;
    case "done":
      run.done = event;
      run.state = event.state;
      if (event.metric !== null) run.metric = event.metric;
      if (event.val_metric !== null) run.valMetric = event.val_metric;
      run.testMetric = event.test_metric;
      if (!run.kind) run.kind = { mae: "regression", dice: "segmentation", psnr: "restoration" }[event.metric_name] ?? null;
      break;
    case "error":
      run.done = event;
      run.state = "failed";
      break;
  }
  return run;
}

export function percent(value) {
  return typeof value !== "number" || !Number.isFinite(value) ? "–" : `${(value * 100).toFixed(1)} %`;
}

/** A metric as shown: "93.5 %" (accuracy) or "0.123" (the MAE of a regression). */
export function formatMetric(value, kind) {
  if (typeof value !== "number" || !Number.isFinite(value)) return "–";
  if (kind === "restoration") return `${value.toFixed(2)} dB`; // PSNR
  if (kind === "segmentation") return value.toFixed(3); // Dice
  return kind === "regression" ? value.toFixed(3) : percent(value);
}

const NAMES = { regression: "MAE", segmentation: "Dice", restoration: "PSNR" };
const TITLES = { regression: "mean absolute error", segmentation: "Dice score", restoration: "PSNR (dB)" };

/** The metric's short name ("accuracy", "MAE", "Dice", "PSNR") and its title on a curve. */
export function metricName(kind) {
  return NAMES[kind] ?? "accuracy";
}

export function metricTitle(kind) {
  return TITLES[kind] ?? "accuracy";
}

/** The problem kind of a run someone else started (from its spec on the server), or null. */
export async function runKind(runId, catalog) {
  try {
    return problemKindOf((await api.getRun(runId))?.spec, catalog);
  } catch {
    return null;
  }
}

const STATE_WORDS = { queued: "queued", running: "training", paused: "paused", finished: "finished",
  stopped: "stopped", early_stopped: "stopped early", diverged: "diverged", failed: "failed",
  interrupted: "interrupted" };

/** A run's state in words, as a person says it: "stopped early", not `early_stopped`. */
export function stateWords(state) {
  return STATE_WORDS[state] ?? String(state ?? "").replaceAll("_", " ");
}
