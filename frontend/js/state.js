// The page's settings: a run spec plus view options. The whole state lives in the URL
// (?s=... a base64url JSON, &hide=...), so a link reproduces the set-up, and a link can
// hide chosen controls for a focused exercise.

export const EXERCISES = [
  {
    id: "ex1", title: "Ex1 · line", hint: "One neuron on linearly separable points (SGD, batch 4, 50 epochs).",
    spec: {
      dataset: { name: "line", n_train: 100, n_val: 50, n_test: 50, noise: 0, seed: 7, params: { a: 0.5, b: 0.1 } },
      features: ["x1", "x2"], layers: [],
      training: { optimizer: "sgd", learning_rate: 0.1, loss: "binary_crossentropy", batch_size: 4, epochs: 50, seed: 1 },
    },
  },
  {
    id: "ex2", title: "Ex2 · parabola", hint: "Not linearly separable: try one neuron, then add a hidden layer.",
    spec: {
      dataset: { name: "parabola", n_train: 300, n_val: 50, n_test: 50, noise: 0, seed: 7, params: { a: 2, b: 0, c: -1 } },
      features: ["x1", "x2"], layers: [],
      training: { optimizer: "adam", learning_rate: 0.01, loss: "binary_crossentropy", batch_size: 16, epochs: 200, seed: 1 },
    },
  },
  {
    id: "ex3", title: "Ex3 · spiral", hint: "The challenge: design a network that separates the spiral.",
    spec: {
      dataset: { name: "course_spiral", n_train: 400, n_val: 100, n_test: 100, noise: 0, seed: 7, params: {} },
      features: ["x1", "x2"], layers: [{ units: 16, activation: "relu" }, { units: 16, activation: "relu" }],
      training: { optimizer: "adam", learning_rate: 0.01, loss: "binary_crossentropy", batch_size: 16, epochs: 300, seed: 1 },
    },
  },
];

export const DEFAULT_SPEC = EXERCISES[1].spec;

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
 * them (null where absent): the page checks them against the catalog (sanitize.js). */
export function readUrl(search = location.search) {
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
  const exercise = EXERCISES.find((e) => e.id === params.get("exercise"));
  if (exercise && !encoded) state.spec = clone(exercise.spec);
  state.hide = (params.get("hide") || "").split(",").map((s) => s.trim()).filter((s) => HIDEABLE.includes(s));
  return state;
}

/** The address that reproduces `spec` and `view` (and keeps the hidden controls hidden,
 * and the room the page is in). */
export function urlFor(spec, view, hide) {
  const params = new URLSearchParams();
  const room = new URLSearchParams(location.search).get("room");
  if (room) params.set("room", room);
  params.set("s", toBase64Url(JSON.stringify({ spec, view })));
  if (hide.length) params.set("hide", hide.join(","));
  return `${location.pathname}?${params}`;
}
