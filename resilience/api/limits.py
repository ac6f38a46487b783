"""Request bodies the API refuses before parsing (413), and 422s that name the field.

:class:`BodyLimit` is a plain ASGI middleware: a request whose ``Content-Length`` is over
:data:`MAX_BODY_BYTES` gets 413 before a byte of its body is read; one without it (chunked)
is read up to the limit and refused as soon as it goes past. Only then does the route see the
body, so nothing is parsed, checked or stored for an oversized request.
:func:`validation_response` turns FastAPI's validation errors into one line per field
(``lon: lon 130 is outside the Shanghai domain 120.8-122.1 E``), without pydantic's
documentation links.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["MAX_BODY_BYTES", "BodyLimit", "validation_lines", "validation_response"]

#: Largest request body accepted (bytes): 1 MB. A Submission is under 2 KB.
MAX_BODY_BYTES = 1_000_000
_WITHOUT_BODY = {"GET", "HEAD", "OPTIONS", "DELETE"}
_LOCATIONS = {"body", "query", "path", "header", "cookie"}


def _too_large(limit: int) -> JSONResponse:
    return JSONResponse(
        {"detail": f"request body: expected at most {limit} bytes, found more"}, status_code=413
    )


class BodyLimit:
    """ASGI middleware: answer 413 to a request body over ``max_bytes`` (header or stream)."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on with its body read, or answer 413 (or 400) without it."""
        if scope["type"] != "http" or scope["method"] in _WITHOUT_BODY:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                response = JSONResponse(
                    {"detail": f"Content-Length: expected a byte count, found {declared!r:.40}"},
                    status_code=400,
                )
                await response(scope, receive, send)
                return
            if int(declared) > self.max_bytes:
                await _too_large(self.max_bytes)(scope, receive, send)
                return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                await _too_large(self.max_bytes)(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(bytes(body), receive), send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """Return a ``receive`` that gives ``body`` once, then defers to the real one."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def validation_lines(errors: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Return ``(field, message)`` per validation error: dotted field, message without links."""
    lines = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        if loc and loc[0] in _LOCATIONS:
            loc = loc[1:]
        message = str(error.get("msg", "")).removeprefix("Value error, ")
        if error.get("type") == "json_invalid":
            reason = (error.get("ctx") or {}).get("error", "")
            where = f" at position {loc[0]}" if loc else ""
            loc, message = [], f"expected JSON, found an error{where}: {reason}"
        lines.append((".".join(loc) or "body", message))
    return lines


async def validation_response(request: Request, exc: Exception) -> JSONResponse:
    """Answer a :class:`RequestValidationError` with 422, one ``field: message`` line each."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    lines = validation_lines(list(errors))
    return JSONResponse(
        {
            "detail": "\n".join(f"{field}: {message}" for field, message in lines),
            "errors": [{"field": field, "message": message} for field, message in lines],
        },
        status_code=422,
    )
