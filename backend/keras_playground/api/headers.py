"""Security headers on every HTTP response: a Content-Security-Policy that lets only the
page's own scripts run, no sniffing of content types, no referrer.

The policy names the page's own WebSocket origin (ws://host or wss://host, from the
request's scheme and Host) so the run and room streams connect whatever the browser's
CSP level. The WebSocket handshake itself needs none of these headers.
"""

from __future__ import annotations

import re

# A Host header is the client's to choose: one that is not a plain host[:port] must not
# add words to the policy (a ";" would start a new directive), so it gets no ws: source.
_HOST = re.compile(r"^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$")


def content_security_policy(scheme: str, host: str | None) -> str:
    """The page's policy; `scheme` is the request's ("http" or "https"), `host` its Host header."""
    connect = ["'self'"]
    if host and _HOST.match(host):
        connect.append(f"{'wss' if scheme == 'https' else 'ws'}://{host}")
    return "; ".join([
        "default-src 'self'",
        "script-src 'self'",  # no inline script, no eval, nothing from another site
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        f"connect-src {' '.join(connect)}",
        "img-src 'self' data: blob:",  # the favicon is a data: URL; Plotly's exports are data:/blob:
        # Plotly.js injects <style> elements and sets style="" attributes on its SVG: without
        # 'unsafe-inline' for styles its charts lose their layout. Styles cannot run script.
        "style-src 'self' 'unsafe-inline'",
        "font-src 'self' data:",
    ])


class SecurityHeaders:
    """ASGI middleware: adds the headers to each HTTP response that does not set them itself."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
        added = [
            (b"content-security-policy", content_security_policy(scope.get("scheme", "http"), host).encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"x-frame-options", b"DENY"),  # frame-ancestors for browsers that predate it
        ]

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message = {**message, "headers": [*message.get("headers", []),
                                                  *(h for h in added if h[0] not in present)]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
