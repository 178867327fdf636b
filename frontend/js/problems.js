// Server errors shown next to the control at fault, in the server's own words.
// A problem's field is a path into the spec ("training.batch_size", "layers[1].units",
// "dataset.params.a"); it lands on the closest element that shows errors for that path.
// Each part of the page reports its own problems by source (`report`); all are shown.

import { ApiError } from "./api.js";

const GENERAL = "general-error";
const bySource = {}; // where they came from (data, code, file, run, link, shared, ...) -> [{field, msg}]

/** An error as problems: a 422's fields, else its message. */
export function problemsOf(err) {
  if (err instanceof ApiError && err.problems.length) return err.problems;
  return [{ field: null, msg: err.message }];
}

/** Replace the problems from `source` and show every source's. */
export function report(source, problems) {
  bySource[source] = problems;
  const all = Object.values(bySource).flat();
  if (all.length) showProblems(all); else clearProblems();
}

function candidates(field) {
  // "layers[1].units" -> "layers[1].units", "layers[1]", "layers"; "layers[0].dropout" also -> "layers.dropout"
  const out = [field];
  let rest = field;
  while (/[.[]/.test(rest)) {
    rest = rest.replace(/(\.[^.[\]]+|\[\d+\])$/, "");
    out.push(rest);
  }
  const dropout = field.match(/^layers\[\d+\]\.dropout$/);
  if (dropout) out.unshift("layers.dropout");
  return out;
}

export function clearProblems() {
  document.querySelectorAll(".field-error").forEach((el) => { el.textContent = ""; });
  document.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
  const general = document.getElementById(GENERAL);
  general.hidden = true;
  general.textContent = "";
}

/** Show [{field, msg}] next to their controls; what has no control goes to the general box. */
export function showProblems(problems) {
  clearProblems();
  const general = [];
  const seen = new Set(); // several previews may report the same problem
  for (const { field, msg } of problems) {
    if (seen.has(`${field}|${msg}`)) continue;
    seen.add(`${field}|${msg}`);
    const slot = field && candidates(field)
      .map((f) => document.querySelector(`[data-error-for="${CSS.escape(f)}"]`))
      .find((el) => el && el.parentElement?.getClientRects().length > 0); // its control is shown
    if (slot) {
      slot.textContent = slot.textContent ? `${slot.textContent}; ${msg}` : msg;
      const input = document.querySelector(`[data-field="${CSS.escape(field)}"]`);
      input?.setAttribute("aria-invalid", "true");
    } else {
      general.push(field ? `${field}: ${msg}` : msg);
    }
  }
  if (general.length) {
    const box = document.getElementById(GENERAL);
    box.hidden = false;
    box.textContent = general.join(" · ");
  }
}
