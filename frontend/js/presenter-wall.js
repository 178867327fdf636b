// The demo screen's class wall (every participant's current run: a boundary thumbnail, or for
// an image run its first conv layer's filters as grey squares; the name, the epoch, the
// validation figure of its kind, its state in words) and the challenge's leaderboard.
// Names are set as text, never as HTML; pictures are drawn on canvases from checked bytes.

import { CLASS_AREAS, DIVERGING, SEQUENTIAL } from "./colors.js";
import { decodeBase64, paintGrid } from "./grid.js";
import { formatMetric, metricName, percent, stateWords } from "./metrics.js";
import { paintFilters } from "./pixels.js";

const $ = (id) => document.getElementById(id);
const tiles = new Map(); // participant id -> {box, canvas, name, figures}

function tile(participant) {
  let entry = tiles.get(participant.id);
  if (!entry) {
    const box = document.createElement("div");
    box.className = "tile";
    box.dataset.participant = participant.id;
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = 96;
    const name = document.createElement("div");
    name.className = "name";
    const figures = document.createElement("div");
    figures.className = "figures";
    box.append(canvas, name, figures);
    entry = { box, canvas, name, figures };
    tiles.set(participant.id, entry);
  }
  entry.name.textContent = participant.name; // text, never HTML
  return entry;
}

export function renderWall(view) {
  const present = new Set(view.participants.map((p) => p.id));
  for (const id of [...tiles.keys()]) if (!present.has(id)) tiles.delete(id);
  $("wall").replaceChildren(...view.participants.map((p) => {
    const entry = tile(p);
    if (!p.run_id) entry.figures.textContent = "no run yet";
    return entry.box;
  }));
  $("p-count").textContent = `${view.participants.length} joined`;
}

/** A `wall` event: a participant's run moved on. */
export function updateTile(event) {
  const entry = tiles.get(event.participant);
  if (!entry) return;
  const figure = event.problem === "regression" ? `validation ${metricName(event.problem)} ` : "validation ";
  entry.figures.textContent = `epoch ${event.epoch} · ${figure}${formatMetric(event.val_metric, event.problem)}`
    + ` · ${stateWords(event.state)}`;
  entry.box.dataset.epoch = event.epoch;
  if (entry.runId !== event.run_id) { // another run: its picture is not the last one's
    entry.runId = event.run_id;
    entry.canvas.getContext("2d").clearRect(0, 0, entry.canvas.width, entry.canvas.height);
    delete entry.canvas.dataset.picture;
  }
  if (event.boundary) {
    const ctx = entry.canvas.getContext("2d");
    const lut = { multiclass: CLASS_AREAS, regression: SEQUENTIAL }[event.problem] ?? DIVERGING;
    paintGrid(ctx, decodeBase64(event.boundary), event.resolution, lut);
    entry.canvas.dataset.picture = "boundary";
  } else if (event.filter_data && paintFilters(entry.canvas, event)) {
    entry.canvas.dataset.picture = "filters";
  }
}

export function renderLeaderboard(view) {
  $("p-challenge").hidden = !view.challenge;
  if (!view.challenge) return;
  const { title, max_parameters: params, max_epochs: epochs } = view.challenge;
  $("p-challenge-title").textContent = `Leaderboard: ${title}`;
  $("p-challenge-limits").textContent = `at most ${params} parameters and ${epochs} epochs`;
  $("leaderboard-rows").replaceChildren(...view.leaderboard.map((e) => {
    const row = document.createElement("tr");
    for (const text of [e.rank, e.name, percent(e.accuracy), e.parameters]) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.append(cell);
    }
    return row;
  }));
}
