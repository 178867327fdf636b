// The exported Keras script, highlighted (a small Python tokenizer: no library needed).

const KEYWORDS = new Set(("False None True and as assert break class continue def del elif else except finally for "
  + "from global if import in is lambda nonlocal not or pass raise return try while with yield").split(" "));
const TOKEN = /(#[^\n]*)|("""[\s\S]*?"""|'''[\s\S]*?'''|f?"(?:\\.|[^"\\\n])*"|f?'(?:\\.|[^'\\\n])*')|(\b\d[\d_]*(?:\.\d*)?(?:e[+-]?\d+)?\b)|([A-Za-z_]\w*)/g;

function escape(text) {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Python source -> HTML with <span class="tok-..."> around comments, strings, numbers, keywords. */
export function highlightPython(source) {
  let html = "", last = 0;
  for (const match of source.matchAll(TOKEN)) {
    html += escape(source.slice(last, match.index));
    const [text, comment, string, number, word] = match;
    const kind = comment ? "comment" : string ? "string" : number ? "number"
      : KEYWORDS.has(word) ? "keyword" : (source[match.index + text.length] === "(" ? "call" : null);
    html += kind ? `<span class="tok-${kind}">${escape(text)}</span>` : escape(text);
    last = match.index + text.length;
  }
  return html + escape(source.slice(last));
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
