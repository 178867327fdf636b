// The exported Keras script, highlighted (a small Python tokenizer: no library needed); copy,
// download and a button's short confirmation.

const KEYWORDS = new Set(("False None True and as assert break class continue def del elif else except finally for "
  + "from global if import in is lambda nonlocal not or pass raise return try while with yield").split(" "));
const TOKEN = /(#[^\n]*)|("""[\s\S]*?"""|'''[\s\S]*?'''|f?"(?:\\.|[^"\\\n])*"|f?'(?:\\.|[^'\\\n])*')|(\b\d[\d_]*(?:\.\d*)?(?:e[+-]?\d+)?\b)|([A-Za-z_]\w*)/g;

/** Python source -> nodes (text, and <span class="tok-..."> around comments, strings,
 * numbers, keywords and calls), to put in a <pre> with replaceChildren. Text only: the
 * script never becomes HTML. */
export function highlightPython(source) {
  const nodes = [];
  let plain = "", last = 0;
  for (const match of source.matchAll(TOKEN)) {
    const [text, comment, string, number, word] = match;
    plain += source.slice(last, match.index);
    last = match.index + text.length;
    const kind = comment ? "comment" : string ? "string" : number ? "number"
      : KEYWORDS.has(word) ? "keyword" : (source[last] === "(" ? "call" : null);
    if (!kind) { plain += text; continue; }
    if (plain) nodes.push(document.createTextNode(plain));
    plain = "";
    const span = document.createElement("span");
    span.className = `tok-${kind}`;
    span.textContent = text;
    nodes.push(span);
  }
  plain += source.slice(last);
  if (plain) nodes.push(document.createTextNode(plain));
  return nodes;
}

/** Offer `text` as a file download. */
export function download(name, text, type = "text/plain") {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = Object.assign(document.createElement("a"), { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** Copy text to the clipboard (falls back to selecting it where the clipboard is not allowed). */
export async function copyText(text, element) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const range = document.createRange();
    range.selectNodeContents(element);
    getSelection().removeAllRanges();
    getSelection().addRange(range);
    return document.execCommand?.("copy") ?? false;
  }
}

/** Say `text` on a button for a moment (e.g. "Copied"), then its own label again. */
export function flash(button, text) {
  const before = button.textContent;
  button.textContent = text;
  setTimeout(() => { button.textContent = before; }, 1500);
}
