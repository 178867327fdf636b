// The routes of image runs (docs: issue 15), beside the page's others (api.js): the shapes
// and parameters of a layer stack, a trained network's answer for an image, a single
// convolution, and a microscopy network applied to an uploaded image. Errors are ApiErrors, as api.js makes them.

import { api, request } from "./api.js";

const id = (value) => encodeURIComponent(String(value));
const bearer = (token) => (token ? { Authorization: `Bearer ${token}` } : {});

/** A JSON body, or a file's bytes (`file`: {body, type}), posted with the run's token if any. */
function post(path, json, token = null, file = null) {
  if (file) return request(path, { method: "POST", body: file.body, headers: { "Content-Type": file.type, ...bearer(token) } });
  return request(path, { method: "POST", json, headers: bearer(token) });
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
