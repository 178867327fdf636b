// The code panel: the settings as a plain Keras script (the server writes it as the
// settings change), highlighted; copy it, download it; download it as a Jupyter notebook
// (the run's once a run has ended, else the settings'); and the trained model's download
// once a run has one.

import { api } from "./api.js";
import { copyText, download, flash, highlightPython } from "./code.js";
import { problemsOf, report } from "./problems.js";
import { specToSend } from "./spec.js";

const $ = (id) => document.getElementById(id);
const WAIT_MS = 150; // typing in a field asks for one script, not one per key

export function createCodePanel() {
  let script = "", timer = null, request = 0, lastSpec = null, runId = null;

  $("copy-code").onclick = async () => flash($("copy-code"), (await copyText(script, $("code"))) ? "Copied" : "Selected");
  $("download-code").onclick = () => download("train.py", script, "text/x-python");
  $("download-notebook").onclick = async () => {
    try {
      const text = runId ? await api.runNotebook(runId) : await api.previewNotebook(lastSpec);
      download(runId ? `run_${runId}.ipynb` : "playground.ipynb", text, "application/x-ipynb+json");
    } catch (err) {
      flash($("download-notebook"), "Not available");
    }
  };

  /** Show the script of the draft `spec` (soon: the newest change wins). */
  function show(spec) {
    const sent = specToSend(spec);
    lastSpec = sent;
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const ticket = ++request;
      try {
        const text = await api.previewCode(sent);
        if (ticket !== request) return;
        script = text;
        $("code").replaceChildren(...highlightPython(text));
        $("code-note").textContent = "The same model in plain Keras: run it with python train.py.";
        report("code", []);
      } catch (err) {
        if (ticket !== request) return;
        $("code-note").textContent = "This is the code of the last valid settings: fix the value in red.";
        report("code", problemsOf(err));
      }
    }, WAIT_MS);
  }

  /** Offer the trained model of run `runId` (null: none to offer). */
  function setModel(id) {
    const link = $("download-model");
    runId = id; // the notebook button downloads this run's notebook (none: the settings')
    if (runId) {
      link.href = api.modelUrl(runId);
      link.classList.remove("disabled");
      link.removeAttribute("aria-disabled");
    } else {
      link.classList.add("disabled");
      link.setAttribute("aria-disabled", "true");
      link.removeAttribute("href");
    }
  }

  return { show, setModel };
}
