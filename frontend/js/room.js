// The room bar of the participant's page (?room=CODE): what the instructor shares
// (settings, a live run, a lesson step, which leads the lesson panel of lesson.js), the
// challenge, and for the instructor the tools to share, set a challenge, remove
// participants and close the room.
// Names and texts from the server are always set as text, never as HTML.

import { api, ApiError } from "./api.js";
import { BoundaryView } from "./boundary.js";
import { membership, remember, RoomStream } from "./membership.js";
import { foldEvent, formatMetric, percent, runKind, runState } from "./metrics.js";
import { decodeBase64, paintFilters } from "./pixels.js";
import { roomCode, toText } from "./sanitize.js";
import { RunStream, goneMessage } from "./stream.js";

const $ = (id) => document.getElementById(id);

/** An image run's frame on the small follow canvas: its first conv layer's filters (first
 * input channel) as grey squares, as on the class wall; false when it has no conv layer. */
function paintFirstFilters(canvas, frame) {
  const f = frame.filters[0];
  if (!f) return false;
  const bytes = decodeBase64(f.data), k = f.size, n = Math.min(f.filters, 32);
  const first = new Uint8Array(n * k * k);
  for (let q = 0; q < n; q++) first.set(bytes.subarray(q * f.channels * k * k, (q * f.channels + 1) * k * k), q * k * k);
  return paintFilters(canvas, { filters: n, filter_size: k, filter_data: first }, "#2b2b2b");
}

/** hooks: {catalog, lesson (the lesson panel), applySpec(spec), spec(), run()}.
 * Returns {runCreated, runChanged, close} or null. */
export async function startRoom(hooks) {
  const given = new URLSearchParams(location.search).get("room");
  if (given === null) return null;
  const code = roomCode(given);
  const bar = $("room-bar");
  bar.hidden = false;
  if (!code) {
    $("room-status").textContent = "The address does not hold a room code (six letters or digits).";
    return null;
  }
  $("room-code").textContent = code;
  const me = membership(code);
  if (!me) {
    $("room-who").textContent = "you have not joined this room";
    const link = document.createElement("a");
    link.href = `/join.html?code=${encodeURIComponent(code)}`;
    link.textContent = "Join it";
    $("room-status").replaceChildren(link);
    return null;
  }
  const instructor = me.role === "instructor";
  $("room-who").textContent = instructor ? "you are the instructor" : `you are ${toText(me.name, 100)}`;
  const room = { code, me, view: null, lessons: hooks.catalog.lessons ?? [],
    followed: null, followStream: null, followBoundary: new BoundaryView($("follow-boundary"), { radius: 0 }) };

  const fail = (err) => { $("room-error").textContent = err instanceof ApiError ? err.message : String(err); };
  const ok = () => { $("room-error").textContent = ""; };
  const act = (action, json, method) => api.roomAction(code, me.token, action, json, method).then((r) => { ok(); return r; }, fail);

  // ----- what the instructor shares
  async function followRun(runId) {
    if (room.followed === runId) return;
    room.followStream?.close();
    room.followStream = null;
    room.followed = runId;
    $("follow-live").hidden = !runId;
    if (!runId) return;
    $("follow-epoch").textContent = "0";
    $("follow-acc").textContent = "–";
    room.followBoundary.setFrame(null);
    delete $("follow-boundary").dataset.picture;
    // Its figures are shown by its own problem kind (an MAE as a number, not a percentage).
    const kind = await runKind(runId, hooks.catalog);
    if (room.followed !== runId) return; // the instructor shared another meanwhile
    const shared = runState(kind);
    room.followStream = new RunStream(runId, {
      onGone: (closeCode, reason) => { $("follow-text").textContent = goneMessage("run", closeCode, reason); },
      onEvent: (event) => {
        foldEvent(shared, event);
        if (event.kind === "frame") {
          room.followBoundary.setFrame(event, shared.kind);
          $("follow-boundary").dataset.picture = "boundary";
        } else if (event.kind === "image_frame") { // an image run: its first filters instead of a boundary
          if (paintFirstFilters($("follow-boundary"), event)) $("follow-boundary").dataset.picture = "filters";
        } else {
          $("follow-epoch").textContent = shared.epoch;
          $("follow-acc").textContent = formatMetric(shared.valMetric, shared.kind);
        }
      },
    });
  }

  function render(view) {
    room.view = view;
    $("room-title").textContent = view.title;
    if (view.closed) $("room-status").textContent = "The instructor has closed this room.";
    const follow = view.follow;
    const sharing = Boolean(follow.spec || follow.run_id);
    $("follow-panel").hidden = instructor || !sharing;
    const lesson = follow.lesson && room.lessons.find((l) => l.id === follow.lesson.id);
    // Every page, the instructor's too, moves to a newly shared step (e.g. from the demo screen).
    if (lesson && (room.shared?.id !== follow.lesson.id || room.shared?.step !== follow.lesson.step)) {
      room.shared = follow.lesson;
      hooks.lesson.show(follow.lesson.id, follow.lesson.step);
    }
    if (!instructor) {
      $("follow-text").textContent = [follow.run_id ? "A live run of the instructor." : "The instructor's settings.",
        lesson ? `Lesson: ${lesson.title}, step ${follow.lesson.step + 1}.` : ""].join(" ");
      followRun(follow.run_id);
    }
    const challenge = view.challenge;
    $("challenge-panel").hidden = !challenge;
    if (challenge) {
      $("challenge-title").textContent = `Challenge: ${challenge.title}`;
      const data = hooks.catalog.datasets.find((d) => d.name === challenge.dataset.name)?.title ?? challenge.dataset.name;
      $("challenge-limits").textContent = `${data}; at most ${challenge.max_parameters} parameters`
        + ` and ${challenge.max_epochs} epochs. Ranked by accuracy on a hidden test set.`;
      $("submit-run").hidden = instructor;
    }
    if (instructor) {
      renderParticipants(view);
      $("lock-room").textContent = view.locked ? "Unlock the room: let new participants join" : "Lock the room to new joins";
      $("lock-room").setAttribute("aria-pressed", String(view.locked));
    }
    syncRunButtons();
  }

  $("follow-load").onclick = async () => {
    const follow = room.view.follow;
    if (follow.spec) hooks.applySpec(follow.spec);
    else if (follow.run_id) hooks.applySpec((await api.getRun(follow.run_id)).spec);
  };

  // ----- the challenge
  $("challenge-load").onclick = () => {
    const spec = hooks.spec();
    hooks.applySpec({ ...spec, dataset: room.view.challenge.dataset });
  };
  $("submit-run").onclick = async () => {
    const run = hooks.run();
    $("submit-result").textContent = "scoring on the hidden test set…";
    try {
      const result = await api.roomAction(code, me.token, "submissions", { run_id: run.id, run_token: run.token });
      $("submit-result").textContent = `Hidden-test accuracy ${percent(result.accuracy)} with ${result.parameters}`
        + ` parameters: your best is number ${result.best_rank} on the leaderboard.`;
    } catch (err) {
      $("submit-result").textContent = `Not accepted: ${err.message}`;
    }
  };

  function syncRunButtons() {
    const run = hooks.run();
    $("submit-run").disabled = !(run && run.done && run.done.kind === "done" && room.view?.challenge);
    $("share-run").disabled = !(run && !run.done);
  }

  // ----- the instructor's tools
  function renderParticipants(view) {
    $("participant-count").textContent = view.participants.length;
    $("participant-list").replaceChildren(...view.participants.map((p) => {
      const item = document.createElement("li");
      const name = document.createElement("span");
      name.textContent = p.name;
      const remove = document.createElement("button");
      remove.type = "button";
      remove.textContent = "remove";
      remove.title = `Remove ${p.name} from the room`;
      remove.onclick = () => act(`participants/${p.id}`, undefined, "DELETE");
      item.append(name, remove);
      return item;
    }));
  }

  if (instructor) {
    $("instructor-tools").hidden = false;
    $("join-url").textContent = `${location.origin}/join.html`;
    $("join-code").textContent = code;
    $("open-presenter").href = `/presenter.html?room=${code}`;
    const lessonRef = () => {
      const at = hooks.lesson.current();
      return at ? { id: at.id, step: at.step } : null;
    };
    $("share-settings").onclick = () => act("follow", { spec: hooks.spec(), run_id: null, lesson: lessonRef() });
    $("share-run").onclick = () => {
      const run = hooks.run();
      // The demo screen in this browser may then pause and step it: it needs the run's token.
      remember(code, { ...me, shared: { id: run.id, token: run.token } });
      return act("follow", { spec: hooks.spec(), run_id: run.id, lesson: lessonRef() });
    };
    $("set-challenge").onclick = () => act("challenge", {
      title: "", dataset: hooks.spec().dataset, // the server titles it by its data set
      max_parameters: Number($("challenge-params").value), max_epochs: Number($("challenge-epochs").value),
    });
    $("end-challenge").onclick = () => act("challenge", undefined, "DELETE");
    $("lock-room").onclick = () => act("lock", { locked: !room.view?.locked });
    $("close-room").onclick = async () => {
      if (confirm("Close the room? Participants can no longer join or submit.")) {
        await api.closeRoom(code, me.token).catch(fail);
      }
    };
  }

  const stream = new RoomStream(code, (event) => { if (event.kind === "room") render(event); }, {
    onGone: (closeCode, reason) => { $("room-status").textContent = goneMessage("room", closeCode, reason); },
  });

  return {
    async runCreated(run) {
      syncRunButtons();
      if (!instructor) await act("runs", { run_id: run.id, run_token: run.token });
    },
    runChanged: syncRunButtons,
    close: () => stream.close(),
  };
}
