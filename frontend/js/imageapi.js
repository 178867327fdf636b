// The routes of image runs (docs: issue 15), beside the page's others (api.js): the shapes
// and parameters of a layer stack, a trained network's answer for an image, a single
// convolution, and a microscopy network applied to an uploaded image. Errors are ApiErrors, as api.js makes them.

import { api, ApiError, clientId } from "./api.js";

const id = (value) => encodeURIComponent(String(value));

async function post(path, json, token = null, file = null) {
  const headers = { "X-Client-Id": clientId(), "Content-Type": file ? file.type : "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(path, { method: "POST", headers, body: file ? file.body : JSON.stringify(json) });
  } catch {
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
  return response.json();
}

export const imageApi = {
  ...api,
  previewLayers: (spec) => post("/api/preview/layers", spec),
  /** body: {index: k} (a gallery image) or {image: [[...]], fit: true} (a drawing). */
  predict: (runId, token, body) => post(`/api/runs/${id(runId)}/predict`, body, token),
  convolve: (body) => post("/api/preview/convolve", body),
  /** A microscopy run's U-Net applied to a PNG or TIFF: `body` its bytes, `type` image/png or image/tiff. */
  apply: (runId, token, body, type) => post(`/api/runs/${id(runId)}/apply`, null, token, { body, type }),
};
