// The lesson panel, on every participant's page (with or without a room): a lesson picker,
// the step's title, text, what to try and what to watch, previous / next, and "Load these
// settings". The address keeps the lesson and the step (?lesson=ID&step=N, N from 1), so a
// link opens a step, with its settings. In a room, the instructor's shared step leads: room.js calls `show`.
// Lesson texts come from the server and are set as text only (coerceLesson).

import { api } from "./api.js";
import { coerceLesson, toId, toNumber } from "./sanitize.js";

const $ = (id) => document.getElementById(id);

/** The lesson and step (0-based) the address asks for, or null. */
export function lessonFromUrl(lessons, search = location.search) {
  const params = new URLSearchParams(search);
  const id = toId(params.get("lesson"));
  if (!id || !lessons.some((l) => l.id === id)) return null;
  const step = toNumber(params.get("step") ?? "1");
  return { id, step: Number.isInteger(step) && step >= 1 ? step - 1 : 0 };
}

/** hooks: {catalog, applySpec(spec, what): load settings into the draft, opened: the page's
 * address as it was opened}. Returns {show(id, step), current(): {id, step, title} | null}. */
export function createLessonPanel({ catalog, applySpec, opened = location.search }) {
  const lessons = catalog.lessons ?? [];
  const panel = { lesson: null, step: 0, ticket: 0 };
  $("lesson-panel").hidden = !lessons.length;
  $("lesson-select").replaceChildren(...lessons.map((l) => new Option(l.title, l.id)));

  /** Show step `step` (0-based) of lesson `id`; `remember`: keep it in the address. */
  async function show(id, step, { remember = true } = {}) {
    const ticket = ++panel.ticket;
    if (!panel.lesson || panel.lesson.id !== id) {
      let lesson;
      try {
        lesson = { ...coerceLesson(await api.lesson(id)), id };
      } catch (err) {
        $("lesson-step-text").textContent = `This lesson could not be loaded: ${err.message}`;
        return;
      }
      if (ticket !== panel.ticket) return; // another step was asked for meanwhile
      panel.lesson = lesson;
    }
    const steps = panel.lesson.steps;
    panel.step = Math.max(0, Math.min(step, steps.length - 1));
    const s = steps[panel.step];
    $("lesson-select").value = id;
    $("lesson-step-number").textContent = `step ${panel.step + 1} of ${steps.length}`;
    $("lesson-step-title").textContent = s.title;
    $("lesson-step-text").textContent = s.text;
    $("lesson-step-try").textContent = s.try;
    $("lesson-step-watch").textContent = s.watch;
    $("lesson-prev").disabled = panel.step === 0;
    $("lesson-next").disabled = panel.step === steps.length - 1;
    if (remember) keepInAddress(id, panel.step);
  }

  function keepInAddress(id, step) {
    const params = new URLSearchParams(location.search);
    params.set("lesson", id);
    params.set("step", String(step + 1));
    history.replaceState(null, "", `${location.pathname}?${params}`);
  }

  $("lesson-select").onchange = () => show($("lesson-select").value, 0);
  $("lesson-prev").onclick = () => panel.lesson && show(panel.lesson.id, panel.step - 1);
  $("lesson-next").onclick = () => panel.lesson && show(panel.lesson.id, panel.step + 1);
  $("lesson-load").onclick = () => {
    if (panel.lesson) applySpec(panel.lesson.steps[panel.step].settings, "The lesson's settings");
  };

  // A lesson's link opens its step with the step's settings, unless the address also holds
  // settings of its own (?s=..., e.g. a participant's page reloaded mid-lesson).
  const asked = lessonFromUrl(lessons, opened);
  const ownSettings = new URLSearchParams(opened).has("s");
  const ready = asked
    ? show(asked.id, asked.step).then(() => { if (!ownSettings && panel.lesson) $("lesson-load").onclick(); })
    : lessons.length ? show(lessons[0].id, 0, { remember: false }) : Promise.resolve();

  return {
    show,
    ready,
    current: () => (panel.lesson ? { id: panel.lesson.id, step: panel.step, title: panel.lesson.title } : null),
  };
}
