"""The page never turns text into HTML: no innerHTML, outerHTML, insertAdjacentHTML or
document.write anywhere in frontend/js (data is shown with textContent on built nodes),
and no inline script or handler in the pages (the Content-Security-Policy forbids them)."""

import re
from pathlib import Path

FRONTEND = Path(__file__).resolve().parents[1] / "frontend"
HTML_SINKS = re.compile(r"\b(innerHTML|outerHTML|insertAdjacentHTML|document\s*\.\s*write(ln)?|createContextualFragment)\b")


def test_no_script_builds_html_from_strings():
    uses = [f"{path.relative_to(FRONTEND)}:{n}: {line.strip()}"
            for path in sorted((FRONTEND / "js").rglob("*.js"))
            for n, line in enumerate(path.read_text().splitlines(), 1) if HTML_SINKS.search(line)]
    assert uses == []


def test_the_pages_have_no_inline_script_or_handlers():
    pages = sorted(FRONTEND.glob("*.html"))
    assert pages
    for page in pages:
        html = page.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), f"{page.name}: an inline <script>"
        assert not re.search(r"\son[a-z]+\s*=", html, re.I), f"{page.name}: an inline on...= handler"
        assert "javascript:" not in html.lower(), f"{page.name}: a javascript: address"
