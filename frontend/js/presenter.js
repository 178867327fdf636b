// The demo screen (presenter.html?room=CODE), for the projector: the run the instructor
// shares, large; the lesson step; the class wall of every participant's run; the
// leaderboard. With the instructor's token (this browser opened the room) it also trains:
// space trains or pauses, "." steps one epoch, n / p move through the lesson's steps.

import { api } from "./api.js";
import { membership, RoomStream } from "./membership.js";
import { createSharedRun } from "./presenter-run.js";
import { renderLeaderboard, renderWall, updateTile } from "./presenter-wall.js";
import { coerceLesson, roomCode } from "./sanitize.js";
import { goneMessage } from "./stream.js";

const $ = (id) => document.getElementById(id);
const code = roomCode(new URLSearchParams(location.search).get("room")) ?? "";
const me = code ? membership(code) : null;
const state = { view: null, runId: null, mine: null, shared: {}, lesson: null, step: 0 };
const catalog = api.catalog().catch(() => null); // the data sets' kinds, for the shared run's figures
const fail = (err) => { $("p-error").textContent = err.message ?? String(err); };

// ----- the shared run (presenter-run.js): its state and end, whoever started it
const run = createSharedRun({
  catalog,
  control: () => controllable(), // with the run's token, a clicked test image becomes its probe
  onChange: (runId, shown) => {
    if (runId !== state.runId) return;
    state.shared = { state: shown.state, done: Boolean(shown.done) };
    if (state.mine?.id === runId) Object.assign(state.mine, state.shared);
  },
});

function watch(runId) {
  if (state.runId === runId) return;
  state.runId = runId;
  state.shared = {};
  run.watch(runId).catch(fail);
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
$("p-no-room").hidden = Boolean(code);
$("p-stage").hidden = $("p-join").hidden = !code;
if (code) {
  new RoomStream(code, (event) => {
    if (event.kind === "room") render(event);
    else if (event.kind === "wall") updateTile(event);
  }, { onGone: (closeCode, reason) => fail(new Error(goneMessage("room", closeCode, reason))) });
}
window.presenter = { state, run };
document.body.dataset.ready = "true";
