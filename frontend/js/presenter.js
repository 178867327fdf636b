// The demo screen (presenter.html?room=CODE), for the projector: the run the instructor
// shares, large; the lesson step; the class wall of every participant's run; the
// leaderboard. With the instructor's token (this browser opened the room) it also trains:
// space trains or pauses, "." steps one epoch, n / p move through the lesson's steps.

import { api } from "./api.js";
import { BoundaryView } from "./boundary.js";
import { Curves } from "./charts.js";
import { CLASS_AREAS, DIVERGING, SEQUENTIAL } from "./colors.js";
import { decodeBase64, paintGrid } from "./grid.js";
import { membership, RoomStream } from "./membership.js";
import { foldEvent, formatMetric, metricTitle, percent, runKind, runState } from "./metrics.js";
import { coerceLesson, roomCode } from "./sanitize.js";
import { RunStream, goneMessage } from "./stream.js";

const $ = (id) => document.getElementById(id);
const code = roomCode(new URLSearchParams(location.search).get("room")) ?? "";
const me = code ? membership(code) : null;
const state = { view: null, runId: null, stream: null, mine: null, shared: {}, lesson: null, step: 0,
  tiles: new Map() };
const boundary = new BoundaryView($("p-boundary"), { radius: 0 });
const curves = new Curves($("p-loss"), $("p-metric"));
const catalog = api.catalog().catch(() => null); // the data sets' kinds, for the shared run's figures
const fail = (err) => { $("p-error").textContent = err.message ?? String(err); };

// ----- the shared run
async function watch(runId) {
  if (state.runId === runId) return;
  state.stream?.close();
  state.stream = null;
  state.runId = runId;
  state.shared = {}; // the watched run's state and end, whoever started it
  curves.clear();
  boundary.setFrame(null);
  $("p-epoch").textContent = "0";
  $("p-train").textContent = $("p-val").textContent = "–";
  if (!runId) return;
  // Its figures are shown by its own problem kind (an MAE as a number, not a percentage).
  const kind = await runKind(runId, await catalog);
  if (state.runId !== runId) return; // another run was shared meanwhile
  const shown = runState(kind);
  curves.setMetricName(metricTitle(kind));
  state.stream = new RunStream(runId, {
    onGone: (closeCode, reason) => { $("p-state").textContent = goneMessage("run", closeCode, reason); },
    onEvent: (event) => {
      foldEvent(shown, event);
      if (event.kind === "epoch") {
        curves.add(event);
        $("p-epoch").textContent = shown.epoch;
        $("p-train").textContent = formatMetric(shown.metric, shown.kind);
        $("p-val").textContent = formatMetric(shown.valMetric, shown.kind);
      } else if (event.kind === "frame") {
        boundary.setFrame(event, shown.kind);
      } else if (event.kind === "status") {
        $("p-state").textContent = shown.state;
        state.shared.state = shown.state;
        if (state.mine?.id === runId) state.mine.state = shown.state;
      } else if (event.kind === "done" || event.kind === "error") {
        $("p-state").textContent = shown.state;
        state.shared.done = true;
        if (state.mine?.id === runId) state.mine.done = true;
      }
    },
  });
}

// ----- the lesson
async function showLesson(ref) {
  if (!ref) { $("p-lesson").hidden = true; return; }
  if (!state.lesson || state.lesson.id !== ref.id) state.lesson = { ...coerceLesson(await api.lesson(ref.id)), id: ref.id };
  state.step = Math.max(0, Math.min(ref.step, state.lesson.steps.length - 1));
  const s = state.lesson.steps[state.step];
  $("p-lesson").hidden = false;
  $("p-lesson-title").textContent = `${state.lesson.title} · ${state.step + 1}/${state.lesson.steps.length}: ${s.title}`;
  $("p-lesson-text").textContent = s.text;
  $("p-lesson-watch").textContent = s.watch;
}

// ----- the class wall and the leaderboard
function tile(participant) {
  let entry = state.tiles.get(participant.id);
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
    state.tiles.set(participant.id, entry);
  }
  entry.name.textContent = participant.name; // text, never HTML
  return entry;
}

function renderWall(view) {
  const present = new Set(view.participants.map((p) => p.id));
  for (const id of [...state.tiles.keys()]) if (!present.has(id)) state.tiles.delete(id);
  $("wall").replaceChildren(...view.participants.map((p) => {
    const entry = tile(p);
    if (!p.run_id) entry.figures.textContent = "no run yet";
    return entry.box;
  }));
  $("p-count").textContent = `${view.participants.length} joined`;
}

function updateTile(event) {
  const entry = state.tiles.get(event.participant);
  if (!entry) return;
  entry.figures.textContent = `epoch ${event.epoch} · val ${formatMetric(event.val_metric, event.problem)} · ${event.state}`;
  entry.box.dataset.epoch = event.epoch;
  if (event.boundary) {
    const ctx = entry.canvas.getContext("2d");
    const lut = { multiclass: CLASS_AREAS, regression: SEQUENTIAL }[event.problem] ?? DIVERGING;
    paintGrid(ctx, decodeBase64(event.boundary), event.resolution, lut);
  }
}

function renderLeaderboard(view) {
  $("p-challenge").hidden = !view.challenge;
  if (!view.challenge) return;
  $("p-challenge-title").textContent = `Leaderboard: ${view.challenge.title}`;
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

function render(view) {
  state.view = view;
  $("p-title").textContent = view.title;
  $("p-status").textContent = view.closed ? "room closed" : "";
  watch(view.follow.run_id);
  showLesson(view.follow.lesson).catch(fail);
  renderWall(view);
  renderLeaderboard(view);
}

// ----- the instructor's keys
async function share(spec, runId) {
  const lesson = state.lesson ? { id: state.lesson.id, step: state.step } : null;
  await api.roomAction(code, me.token, "follow", { spec, run_id: runId, lesson });
}

/** The shared run, when this browser holds its token: started here, or shared from the
 * instructor's page in this browser. */
function controllable() {
  if (state.mine?.id === state.runId) return state.mine;
  const shared = membership(code)?.shared;
  return shared?.id === state.runId ? { ...shared, ...state.shared } : null;
}

async function trainOrPause() {
  if (me?.role !== "instructor") return;
  const mine = controllable();
  if (mine && !mine.done) {
    await api.control(mine.id, mine.token, mine.state === "paused" ? "resume" : "pause");
    return;
  }
  const spec = state.view.follow.spec ?? state.lesson?.steps[state.step].settings;
  if (!spec) { fail(new Error("Share settings or a lesson step first.")); return; }
  const created = await api.createRun(spec);
  state.mine = { ...created, state: "queued", done: false };
  await share(spec, created.id);
}

async function step() {
  const mine = controllable();
  if (mine && !mine.done) await api.control(mine.id, mine.token, "step");
}

async function moveLesson(delta) {
  if (me?.role !== "instructor" || !state.lesson) return;
  state.step = Math.max(0, Math.min(state.step + delta, state.lesson.steps.length - 1));
  await share(state.lesson.steps[state.step].settings, null);
}

document.addEventListener("keydown", (event) => {
  if (event.target.closest("input, select, textarea")) return;
  const actions = { " ": trainOrPause, ".": step, n: () => moveLesson(1), ArrowRight: () => moveLesson(1),
    p: () => moveLesson(-1), ArrowLeft: () => moveLesson(-1), w: () => { $("p-class").hidden = !$("p-class").hidden; } };
  const action = actions[event.key];
  if (action) { event.preventDefault(); Promise.resolve(action()).catch(fail); }
});
$("p-train-button").onclick = () => trainOrPause().catch(fail);
$("p-step").onclick = () => step().catch(fail);
$("p-next").onclick = () => moveLesson(1).catch(fail);
for (const id of ["p-train-button", "p-step", "p-next"]) $(id).hidden = me?.role !== "instructor";

$("p-code").textContent = code;
$("p-join-url").textContent = `${location.host}/join.html`;
if (code) {
  new RoomStream(code, (event) => {
    if (event.kind === "room") render(event);
    else if (event.kind === "wall") updateTile(event);
  }, { onGone: (closeCode, reason) => fail(new Error(goneMessage("room", closeCode, reason))) });
} else {
  fail(new Error("The address does not hold a room code: open the demo screen from the room's page."));
}
window.presenter = { state };
document.body.dataset.ready = "true";
