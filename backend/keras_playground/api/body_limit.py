"""Refuse request bodies over a size with 413, whether or not they declare their length.

One limit for every route (`max_body_bytes`, 1 MB by default), except the routes that take
a file (`UPLOADS`): an image applied to a microscopy run may be up to 8 MB, and a refusal
there names the field at fault as a 422 does ({"detail": [{"field": "file", "msg": ...}]}).
"""

from __future__ import annotations

import json
import re
from typing import NamedTuple


class Upload(NamedTuple):
    path: re.Pattern  # the route's path
    max_bytes: int
    field: str  # what the refusal names


MAX_IMAGE_BYTES = 8 * 1024 * 1024  # POST /api/runs/{id}/apply: a 1024x1024 16-bit TIFF is 2 MB
UPLOADS = (Upload(re.compile(r"/api/runs/[^/]+/apply"), MAX_IMAGE_BYTES, "file"),)


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    """ASGI middleware: a declared Content-Length over `max_bytes` is refused at once; a
    chunked body is counted as it arrives and refused when it passes the limit."""

    def __init__(self, app, max_bytes: int, uploads: tuple[Upload, ...] = UPLOADS):
        self.app, self.max_bytes, self.uploads = app, max_bytes, uploads

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        upload = next((u for u in self.uploads if u.path.fullmatch(scope.get("path", ""))), None)
        max_bytes = upload.max_bytes if upload else self.max_bytes
        field = upload.field if upload else None
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > max_bytes):
            return await self._refuse(send, max_bytes, field)
        seen = 0
        too_large = False

        async def counting_receive():
            nonlocal seen, too_large
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > max_bytes:
                    too_large = True
                    raise BodyTooLarge
            return message

        async def guarded_send(message):
            # The app may answer a body it could not read (FastAPI: 400); say what it was.
            if too_large:
                if message["type"] == "http.response.start":
                    await self._refuse(send, max_bytes, field)
                return
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except BodyTooLarge:
            await self._refuse(send, max_bytes, field)

    @staticmethod
    async def _refuse(send, max_bytes: int, field: str | None = None):
        words = f"The request body is larger than {max_bytes} bytes."
        if field is not None:
            words = f"The file is larger than {max_bytes // (1024 * 1024)} MB ({max_bytes} bytes)."
        detail = [{"field": field, "msg": words}] if field is not None else words
        body = json.dumps({"detail": detail}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
