// The gallery: the data set's first 100 test images (as previewed), each with what the run
// predicts for it, in the order of the newest frame (the misclassified first, marked red:
// "predicted 3, is 5"). Before a run they show their true class. Clicking one asks for it
// as the probe (`onPick(index)`).

import { paint, pixelCanvas, textEl } from "./pixels.js";

/** root: the grid's element; summary: where "7 of 100 misclassified" goes. */
export function createGallery({ root, summary, onPick }) {
  let data = null, items = [];

  /** The previewed images (or null): the gallery in its own order, true classes. */
  function setData(next) {
    data = next;
    items = [];
    if (!data) { root.replaceChildren(); summary.textContent = ""; return; }
    const { h, w, gallery, classes } = data;
    for (let k = 0; k < gallery.count; k++) {
      const item = document.createElement("button");
      item.type = "button";
      item.className = "gallery-item";
      item.dataset.index = k;
      const caption = textEl("span", "", "gallery-caption");
      item.append(paint(pixelCanvas(h, w), data.galleryBytes, k * h * w, h, w), caption);
      item.onclick = () => onPick(k);
      items.push({ item, caption, truth: classes[gallery.labels[k]] ?? String(gallery.labels[k]) });
    }
    clear();
  }

  function clear() {
    items.forEach(({ item, caption, truth }) => {
      item.classList.remove("wrong");
      caption.textContent = truth;
      item.title = `image ${item.dataset.index}: ${truth}; click to see what the network makes of it`;
    });
    root.replaceChildren(...items.map((i) => i.item));
    summary.textContent = data ? `${items.length} test images with their true class: train to see the network's answers` : "";
  }

  /** A frame's gallery ({indices, predicted, confidence, wrong, total}). */
  function show(g) {
    if (!data || !g) return;
    const ordered = [];
    g.indices.forEach((k, j) => {
      const entry = items[k];
      if (!entry) return;
      const name = data.classes[g.predicted[j]] ?? String(g.predicted[j]);
      const wrong = g.predicted[j] !== data.gallery.labels[k];
      entry.item.classList.toggle("wrong", wrong);
      entry.caption.textContent = wrong ? `predicted ${name}, is ${entry.truth}` : name;
      entry.item.title = `image ${k}: predicted ${name} (${Math.round((g.confidence[j] ?? 0) * 100)} % sure), is ${entry.truth}`;
      ordered.push(entry.item);
    });
    root.replaceChildren(...ordered);
    summary.textContent = `${g.wrong} of ${g.total} misclassified, shown first (the most confident mistakes first)`;
  }

  return { setData, show, clear };
}
