// The image tools (issue 15), beside an image run's views: a pad to draw a figure the
// current run classifies (draw.js), and one 3x3 convolution to play with (kernel.js).
// They follow the page through the getters the page gives (its run, its previewed images,
// its data set's catalog entry), looked at twice a second: the page needs no hooks for them.

import { api as plainApi, ApiError, clientId } from "./api.js";
import { createDrawPanel } from "./draw.js";
import { createKernelPanel } from "./kernel.js";

const LOOK_MS = 500; // how often the tools look whether the run or the images changed

/** A POST as api.js makes them, for an `api` without the image routes. */
async function post(path, json, token = null) {
  const headers = { "X-Client-Id": clientId(), "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(path, { method: "POST", headers, body: JSON.stringify(json) });
  } catch {
    throw new ApiError(0, "The server cannot be reached. Is it still running?");
  }
  if (!response.ok) {
    let detail = response.statusText;
    try { detail = (await response.json()).detail; } catch { /* not JSON */ }
    const problems = Array.isArray(detail) ? detail : [];
    const message = problems.length ? problems.map((p) => `${p.field}: ${p.msg}`).join("; ") : String(detail);
    throw new ApiError(response.status, message, problems);
  }
  return response.json();
}

/** The routes the tools use, from ctx.api where it has them. */
function callsOf(api) {
  const path = (runId) => `/api/runs/${encodeURIComponent(String(runId))}/predict`;
  return {
    predict: api?.predict ? (...args) => api.predict(...args) : (runId, token, body) => post(path(runId), body, token),
    convolve: api?.convolve ? (body) => api.convolve(body) : (body) => post("/api/preview/convolve", body),
    catalog: api?.catalog ? () => api.catalog() : () => plainApi.catalog(),
  };
}

/** Fill `section` with the drawing and the convolution panels. ctx: {api, getRun() ->
 * {id, token, epoch} | null, getData() -> the images previewed | null, getCatalogEntry(),
 * onPrediction(answer)}. Returns {refresh(), stop()}. */
export function mountImageTools(section, ctx) {
  if (!section) return null;
  const calls = callsOf(ctx.api);
  // The page may not be ready to answer while it starts (the tools are made first): a getter
  // that throws answers null until it is.
  const ask = (getter) => { try { return getter?.() ?? null; } catch { return null; } };
  const safe = {
    getRun: () => { // a run counts while the page is on an image data set (else it is a run on points)
      const r = ask(ctx.getRun);
      return r && r.id && r.token && ask(ctx.getCatalogEntry) ? r : null;
    },
    getData: () => ask(ctx.getData),
    getCatalogEntry: () => ask(ctx.getCatalogEntry),
    onPrediction: (answer) => {
      try { ctx.onPrediction?.(answer); } catch (err) { console.warn("The page could not show the answer:", err); }
    },
  };
  let kernel = null;
  const draw = createDrawPanel(safe, calls, () => kernel?.drawn());
  kernel = createKernelPanel(safe, calls, draw);
  section.classList.add("image-tools");
  section.replaceChildren(draw.root, kernel.root);

  let data;
  function refresh() {
    const now = safe.getData();
    if (now !== data) {
      data = now;
      kernel.setData(now);
    }
    draw.update();
  }
  setTimeout(refresh, 0); // once the page has started
  const timer = setInterval(refresh, LOOK_MS);
  return { refresh, stop: () => clearInterval(timer) };
}
