// The page's settings: a run spec plus view options. The whole state lives in the URL
// (?s=... a base64url JSON, &hide=..., or ?exercise=ex1 for a course exercise), so a link
// reproduces the set-up, and a link can hide chosen controls for a focused exercise.

/** The settings a page starts from when a link gives none: the catalog's default exercise
 * (the course exercises come from the server: `GET /api/catalog` -> `exercises`). */
export function defaultSpec(catalog) {
  const exercises = catalog.exercises ?? [];
  const found = exercises.find((e) => e.id === catalog.default_exercise) ?? exercises[0];
  return clone(found?.spec ?? { dataset: {}, features: ["x1", "x2"], layers: [], training: {} });
}

// The controls a URL may hide (hide=a,b): each is an element group with data-hide="<name>".
export const HIDEABLE = ["exercises", "dataset", "data-sizes", "data-files", "features", "layers", "optimizer",
  "learning-rate", "loss", "batch-size", "epochs", "regularization", "dropout", "early-stopping", "code"];

export function clone(value) {
  return JSON.parse(JSON.stringify(value));
}

function toBase64Url(text) {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  bytes.forEach((b) => { binary += String.fromCharCode(b); });
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64Url(text) {
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
}

/** {spec, view, hide, warning} from the address. `spec` and `view` are as the link gives
 * them (null where absent): the page checks them against the catalog (sanitize.js).
 * `exercises`: the catalog's, for ?exercise=<id>. */
export function readUrl(exercises = [], search = location.search) {
  const params = new URLSearchParams(search);
  const state = { spec: null, view: null, hide: [] };
  const encoded = params.get("s");
  if (encoded) {
    try {
      const saved = JSON.parse(fromBase64Url(encoded));
      if (saved === null || typeof saved !== "object" || Array.isArray(saved)) throw new TypeError("not an object");
      state.spec = saved.spec ?? null;
      state.view = saved.view ?? null;
    } catch {
      state.warning = "The link's settings could not be read; the default settings are shown.";
    }
  }
  const exercise = exercises.find((e) => e.id === params.get("exercise"));
  if (exercise && !encoded) state.spec = clone(exercise.spec);
  state.hide = (params.get("hide") || "").split(",").map((s) => s.trim()).filter((s) => HIDEABLE.includes(s));
  return state;
}

/** The address that reproduces `spec` and `view` (and keeps the hidden controls hidden,
 * the room the page is in and the lesson step it shows). */
export function urlFor(spec, view, hide) {
  const params = new URLSearchParams();
  const here = new URLSearchParams(location.search);
  for (const key of ["room", "lesson", "step"]) if (here.get(key)) params.set(key, here.get(key));
  params.set("s", toBase64Url(JSON.stringify({ spec, view })));
  if (hide.length) params.set("hide", hide.join(","));
  return `${location.pathname}?${params}`;
}
