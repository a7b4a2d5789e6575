"""A fake of Vertex AI's REST ``JobService``, on loopback, for the calls ``vertex_hydra`` makes.

The real ``google.cloud.aiplatform_v1.JobServiceClient`` (REST transport,
anonymous credentials) talks to it over plain HTTP, so the tests see the exact
requests the client sends, and the client parses real HTTP responses, errors
included. Paths and bodies follow ``aiplatform_v1``'s REST transport:

- ``POST /v1/projects/{p}/locations/{r}/hyperparameterTuningJobs`` (body: the job)
- ``GET  /v1/projects/{p}/locations/{r}/hyperparameterTuningJobs/{id}``

both with the query ``$alt=json;enum-encoding=int``. Enums may arrive as
numbers; the fake answers with names, which the client accepts too.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

_COLLECTION = re.compile(r"^/v1/projects/([^/]+)/locations/([^/]+)/hyperparameterTuningJobs$")
_JOB = re.compile(r"^/v1/(projects/[^/]+/locations/[^/]+/hyperparameterTuningJobs/[^/]+)$")
_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
           404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL"}  # fmt: skip


@dataclass
class Request:
    """One request the fake received."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    authorization: str | None = None


@dataclass
class FakeVertex:
    """The fake's state: what it received, and what it answers.

    Attributes:
        url: ``http://127.0.0.1:<port>``, to pass as ``--api-endpoint``.
        requests: Every request received, in order.
        error: When set, ``(http_status, message)`` answered to every request.
        timelines: Job name -> the successive job states that GETs return (the
            last one repeats); a created job starts with just its POST answer.
    """

    url: str = ""
    requests: list[Request] = field(default_factory=list)
    error: tuple[int, str] | None = None
    timelines: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    next_id: int = 4242
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_job(self, name: str, *states: dict[str, Any]) -> None:
        """Serve ``states`` to successive GETs of ``name``."""
        self.timelines[name] = [dict(s, name=name) for s in states]

    def answer(
        self, method: str, raw_path: str, body: bytes, authorization: str | None = None
    ) -> tuple[int, dict[str, Any]]:
        """Record one request and return ``(http_status, json_payload)``."""
        parts = urlsplit(raw_path)
        payload = json.loads(body) if body else None
        with self.lock:
            self.requests.append(
                Request(method, parts.path, parse_qs(parts.query), payload, authorization)
            )
            if self.error is not None:
                code, message = self.error
                return code, {"error": {"code": code, "message": message, "status": _STATUS[code]}}
            created = _COLLECTION.match(parts.path)
            if method == "POST" and created:
                name = f"projects/{created[1]}/locations/{created[2]}/hyperparameterTuningJobs/{self.next_id}"
                self.next_id += 1
                job = dict(payload or {}, name=name, state="JOB_STATE_PENDING",
                           createTime="2024-05-01T10:00:00Z")  # fmt: skip
                self.timelines.setdefault(name, [job])
                return 200, job
            found = _JOB.match(parts.path)
            if method == "GET" and found and found[1] in self.timelines:
                timeline = self.timelines[found[1]]
                return 200, timeline.pop(0) if len(timeline) > 1 else timeline[0]
            return 404, {
                "error": {"code": 404, "message": f"{parts.path} not found", "status": "NOT_FOUND"}
            }


def _handler(fake: FakeVertex) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            status, payload = fake.answer(
                self.command, self.path, self.rfile.read(length), self.headers.get("Authorization")
            )
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _serve

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep pytest output clean
            pass

    return Handler


@contextmanager
def serve_fake_vertex() -> Iterator[FakeVertex]:
    """Run a :class:`FakeVertex` on ``127.0.0.1`` (ephemeral port) for the ``with`` block."""
    fake = FakeVertex()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
