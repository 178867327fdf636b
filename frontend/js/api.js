// The server's HTTP API (docs/api.md), with its errors turned into ApiError.

const CLIENT_KEY = "keras-playground-client";

/** A random id per browser: the server counts a participant's active runs by it. */
export function clientId() {
  let id = localStorage.getItem(CLIENT_KEY);
  if (!id) {
    id = Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, "0")).join("");
    localStorage.setItem(CLIENT_KEY, id);
  }
  return id;
}

/** An HTTP error: `problems` are [{field, msg}] for a 422, `retryAfter` seconds for a 429. */
export class ApiError extends Error {
  constructor(status, message, problems = [], retryAfter = null) {
    super(message);
    this.status = status;
    this.problems = problems;
    this.retryAfter = retryAfter;
  }
}

const id = (value) => encodeURIComponent(String(value)); // ids and codes from outside stay one path segment

/** One request; errors as ApiError. `json` is sent as JSON, `body` as it is. */
export async function request(path, { method = "GET", json, body, headers = {}, as = "json" } = {}) {
  const init = { method, headers: { "X-Client-Id": clientId(), ...headers } };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers["Content-Type"] = "application/json";
  } else if (body !== undefined) {
    init.body = body;
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, "The server cannot be reached. Is it still running?");
  }
  if (!response.ok) {
    let detail = response.statusText;
    try { detail = (await response.json()).detail; } catch { /* not JSON */ }
    const problems = Array.isArray(detail) ? detail : [];
    const message = problems.length ? problems.map((p) => `${p.field}: ${p.msg}`).join("; ") : String(detail);
    const retry = response.headers.get("Retry-After");
    throw new ApiError(response.status, message, problems, retry ? Number(retry) : null);
  }
  return as === "text" ? response.text() : response.json();
}

export const api = {
  catalog: () => request("/api/catalog"),
  previewData: (spec) => request("/api/preview/data", { method: "POST", json: spec }),
  previewCode: (spec) => request("/api/preview/code", { method: "POST", json: spec, as: "text" }),
  previewNotebook: (spec) => request("/api/preview/notebook", { method: "POST", json: spec, as: "text" }),
  runNotebook: (runId) => request(`/api/runs/${id(runId)}/notebook`, { as: "text" }),
  parseCsv: (text) => request("/api/preview/csv", { method: "POST", body: text, headers: { "Content-Type": "text/csv" } }),
  createRun: (spec, paused = false) => request(`/api/runs${paused ? "?paused=true" : ""}`, { method: "POST", json: spec }),
  getRun: (runId) => request(`/api/runs/${id(runId)}`),
  control: (runId, token, action, extra = {}) => request(`/api/runs/${id(runId)}/control`, {
    method: "POST", json: { action, ...extra }, headers: { Authorization: `Bearer ${token}` },
  }),
  lesson: (lessonId) => request(`/api/lessons/${id(lessonId)}`),
  openRoom: (title, password) => request("/api/rooms", { method: "POST", json: { title, password: password || null } }),
  room: (code) => request(`/api/rooms/${id(code)}`),
  joinRoom: (code, name) => request(`/api/rooms/${id(code)}/join`, { method: "POST", json: { name } }),
  // As the instructor (their token) or a participant (theirs): `action` is the path after the code.
  roomAction: (code, token, action, json, method = "POST") => request(`/api/rooms/${id(code)}/${action}`, {
    method, json, headers: { Authorization: `Bearer ${token}` },
  }),
  closeRoom: (code, token) => request(`/api/rooms/${id(code)}`, { method: "DELETE", headers: { Authorization: `Bearer ${token}` } }),
  codeUrl: (runId) => `/api/runs/${id(runId)}/code`,
  modelUrl: (runId) => `/api/runs/${id(runId)}/model`,
};
