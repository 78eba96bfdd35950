"""`BodyLimit`: a request body longer than `server.max_body_bytes` is refused with 413
before any handler (or JSON parser) sees it.

A declared `Content-Length` over the limit is refused at once, unread. A body sent in
chunks is read up to the limit and refused as soon as it passes it, so memory per
request is bounded either way; a body within the limit is handed on unchanged. (A
signal is about 400 bytes; the default limit, 64 KiB, is the signal line's.)
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ordergate.server.problems import PROBLEM_JSON, encode, problem_body


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", ())).get(b"content-length")
        if declared is not None:
            try:
                too_long = int(declared) > self.max_bytes
            except ValueError:
                await self._refuse(send, 400, "bad-request", "Content-Length is not a number")
                return
            if too_long:
                await self._refuse(send, 413, "body-too-large", self._detail())
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(send, 413, "body-too-large", self._detail())
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body, delivered = b"".join(chunks), False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: a disconnect, when it comes

        await self.app(scope, replay, send)

    def _detail(self) -> str:
        return f"the request body is longer than {self.max_bytes} bytes"

    @staticmethod
    async def _refuse(send: Send, status: int, slug: str, detail: str) -> None:
        body = encode(problem_body(status, slug, detail))
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", PROBLEM_JSON.encode()),
                                (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})
