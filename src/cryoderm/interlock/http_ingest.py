"""HTTP ingest: a small stdlib HTTP server inside the interlock process (not Django).

Every request carries its device's token (``Authorization: Bearer <token>``, issued by
``cryoderm device-credentials``): without a valid one the answer is 401; a token used for
another device's reading, status or commands is a ``wrong-client`` technical alarm that
stops both devices' sessions, and the answer is 403.

``POST /v1/readings`` (one reading, the MQTT payload) answers 200 only once the reading is
durable in the journal: ``{"acked": {"seq", "journal_seq"}, "commands": [...],
"heartbeat": {...}}``, the commands and the heartbeat signed by the interlock
(:mod:`.signing`). The commands waiting for that device ride on the answer, and every
answer carries the latest heartbeat. ``POST /v1/status`` takes a status message;
``GET /v1/devices/{device_id}/commands`` polls. 400 names the bad field, 413 refuses a body
over the cap; 503 means the reading could not be made durable in time and was not
acknowledged (send it again).
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

from cryoderm.interlock.credentials import TokenCheck
from cryoderm.interlock.errors import InvalidInterlockInput
from cryoderm.interlock.liveness import NetworkWatch
from cryoderm.interlock.model import DeviceCommand, Reading, check_device_id, status_from_json
from cryoderm.interlock.signing import Signer, device_verifier
from cryoderm.interlock.transport import Deliver, InboundReading, InboundRejected, InboundStatus
from cryoderm.interlock.wire import (
    RejectedMessage,
    WrongClient,
    caps,
    clip,
    decode,
    rejection_reason,
    show,
)

T = TypeVar("T")


class Unauthenticated(RejectedMessage):
    """A request without a valid device token."""

    def __init__(self) -> None:
        super().__init__(
            "unauthenticated",
            "a device token is required: Authorization: Bearer <token> "
            "(cryoderm device-credentials add)",
        )


# A connection that sends nothing for this long is closed: a client that opens connections
# and never finishes a request must not hold the ingest's threads.
REQUEST_TIMEOUT_S = 5.0
# Connections the kernel holds for the ingest before it accepts them (the standard library's
# default is 5): with 5, a burst of connections from anyone on the machine (no token is
# needed to connect) filled the queue, the kernel dropped the device's own connection
# attempts, and each waited for TCP's retransmission (1 s, then 3 s...): no answer, no
# heartbeat, a stopped device. Assumption: 1,024 (the kernel caps it at somaxconn) is far
# more than the devices of a clinic connect at once, and costs the kernel only memory.
LISTEN_BACKLOG = 1024
# An oversized body up to this size is read and thrown away before the 413 answer.
DRAIN_MAX_BYTES = 1 << 20


class _Pending:
    """A reading waiting for its acknowledgement (the journal's fsync), or its dismissal."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.journal_seq: int | None = None
        self.dismissed = False


class HttpTransport:
    """Serves on ``host:port`` (127.0.0.1 by default; port 0 picks a free port, see
    :attr:`port` after :meth:`start`). ack_timeout_s: the longest a POST waits for fsync."""

    name = "http"
    # A stopped device that still posts readings is told "stop" in the answer to every one:
    # a command rides on an answer, which a device that gave up on it (its timeout, a
    # dropped connection) never reads, and nothing tells the interlock so.
    resend_stop_every_s = 0.0

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8765,
        *,
        signer: Signer,
        tokens: TokenCheck,
        ack_timeout_s: float = 2.0,
    ) -> None:
        self.host, self.port = host, port
        self.signer, self.tokens = signer, tokens
        self.ack_timeout_s = ack_timeout_s
        self._deliver: Deliver | None = None
        self._commands: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._lock = threading.Lock()
        self.last_heartbeat: dict[str, str] | None = None
        self._server: ThreadingHTTPServer | None = None
        self.watch = NetworkWatch(None)
        self._thread: threading.Thread | None = None

    def start(self, deliver: Deliver, watch: NetworkWatch | None = None) -> None:
        self._deliver = deliver
        self.watch = watch or NetworkWatch(None)
        transport = self

        class Handler(_Handler):
            owner = transport

        class Server(ThreadingHTTPServer):
            request_queue_size = LISTEN_BACKLOG

            def service_actions(self) -> None:
                # Every turn of the accept loop (at least every poll interval, 0.5 s).
                transport.watch.stamp()

        try:
            self._server = Server((self.host, self.port), Handler)
        except OSError as error:
            raise InvalidInterlockInput(
                f"http port = {self.port}: cannot listen on {self.host} ({error.strerror})"
            ) from None
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="http-ingest", daemon=True
        )
        self._thread.start()

    # -- Transport ------------------------------------------------------------------------
    def send_command(self, device_id: str, command: DeviceCommand, detail: dict[str, Any]) -> None:
        sealed = self.signer.seal(
            "command", {**detail, "command": command.value, "device_id": device_id}
        )
        with self._lock:
            self._commands[device_id].append(sealed)

    def heartbeat(self, wall_time_s: float) -> None:
        self.last_heartbeat = self.signer.seal("heartbeat", {})

    def acknowledge(self, receipts: Sequence[tuple[InboundReading, int]]) -> None:
        for receipt, journal_seq in receipts:
            pending: _Pending = receipt.token
            pending.journal_seq = journal_seq
            pending.done.set()

    def dismiss(self, receipt: InboundReading) -> None:
        pending: _Pending = receipt.token
        pending.dismissed = True
        pending.done.set()

    def offline(self, reason: str) -> None:
        """Answers carry no fresh heartbeat any more: each device stops within its heartbeat
        timeout, and on the stop command its next answer carries."""
        self.last_heartbeat = None

    def online(self) -> None:
        """Guarding again: answers carry heartbeats again as the loop makes them."""

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # -- used by the handler --------------------------------------------------------------
    def take_commands(self, device_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return self._commands.pop(device_id, [])

    def ingest(self, reading: Reading) -> _Pending:
        """Deliver a reading (it is judged now); its acknowledgement or dismissal comes
        later, through the returned handle."""
        pending = _Pending()
        if self._deliver is not None:
            self._deliver(InboundReading(reading, self, pending))
        return pending

    def status(self, device_id: str, status: dict[str, Any]) -> None:
        if self._deliver is not None:
            self._deliver(InboundStatus(device_id, status, self))

    def reject(self, path: str, device_id: str | None, error: Exception) -> None:
        """Count a request the ingest refused (the interlock logs the first few); a
        wrong-client one makes the interlock stop both devices."""
        if self._deliver is not None:
            self._deliver(
                InboundRejected(
                    self,
                    path,
                    device_id,
                    rejection_reason(error, path.rsplit("/", 1)[-1]),
                    clip(str(error)),
                    error.claimed if isinstance(error, WrongClient) else None,
                )
            )


class _Handler(BaseHTTPRequestHandler):
    owner: HttpTransport
    protocol_version = "HTTP/1.1"
    timeout = REQUEST_TIMEOUT_S

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the journal is the record."""

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _payload(self) -> bytes:
        """The request's body, its length checked (it is read as JSON on the shared path)."""
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            raise RejectedMessage("no-length", "body: send it with a Content-Length, not chunked")
        limit = caps("device").max_bytes
        text = self.headers.get("Content-Length") or "0"
        length = int(text) if text.isdigit() and len(text) <= 12 else -1
        if not 0 < length <= limit:
            # What follows a bad length cannot be told from the next request: close, after
            # reading what a client that is merely too verbose sent (so that it reads our
            # answer rather than a reset connection), up to a bound.
            self.close_connection = True
            if limit < length <= DRAIN_MAX_BYTES:
                self.rfile.read(length)
            raise RejectedMessage(
                "oversized" if length > limit else "bad-length",
                f"body: 1 to {limit} bytes of JSON with their Content-Length are required "
                f"(Content-Length: {show(text)})",
            )
        return self.rfile.read(length)

    def _commands_for(self, device_id: str) -> dict[str, Any]:
        return {
            "commands": self.owner.take_commands(device_id),
            "heartbeat": self.owner.last_heartbeat,
        }

    def _device(self) -> str:
        """The device whose token the request carries (raises Unauthenticated)."""
        header = self.headers.get("Authorization") or ""
        scheme, _, token = header.partition(" ")
        device_id = self.owner.tokens.device_of(token.strip()) if scheme == "Bearer" else None
        if device_id is None:
            raise Unauthenticated()
        return device_id

    def _same_device(self, sender: str, claimed: object) -> str:
        if claimed != sender:
            raise WrongClient(sender, str(claimed))
        return sender

    def do_POST(self) -> None:
        """Each request on its own: anything it raises is a 4xx answer and a counted
        rejection, never a dead thread or a half answer."""
        self._each_request(self._post)

    def do_GET(self) -> None:
        self._each_request(self._get)

    def _each_request(self, handle: Any) -> None:
        sender: str | None = None
        try:
            sender = self._device()
            handle(sender)
        except OSError:
            self.close_connection = True  # the client has gone: nothing to answer
        except Unauthenticated as error:
            self.close_connection = True
            self._refuse(error, 401, None)
        except WrongClient as error:
            self._refuse(error, 403, sender)
        except InvalidInterlockInput as error:
            self._refuse(error, 413 if getattr(error, "reason", "") == "oversized" else 400, sender)
        except Exception as error:
            self._refuse(error, 400, sender)

    def _refuse(self, error: Exception, status: int, sender: str | None) -> None:
        self.owner.reject(self.path[:64], sender, error)
        try:
            self._answer(status, {"error": clip(str(error))})
        except OSError:
            self.close_connection = True  # the client has gone

    def _alone(self, sender: str, payload: bytes, handler: Callable[[], T]) -> T:
        """Handle the request's message on the one path every transport shares
        (:meth:`NetworkWatch.handle`: marked while handled, quarantined if the process dies
        or hangs on it, rejected alone if it raises); what it raised is raised here, after,
        for the answer."""
        failed: list[Exception] = []
        result = self.owner.watch.handle(
            f"http {sender} {self.command} {self.path[:40]}", payload, handler, failed.append
        )
        if failed:
            raise failed[0]
        assert result is not None
        return result

    def _post(self, sender: str) -> None:
        payload = self._payload()
        if self.path == "/v1/readings":
            reading, pending = self._alone(sender, payload, lambda: self._reading(sender, payload))
            pending.done.wait(self.owner.ack_timeout_s)  # the fsync: outside the handling
            journal_seq = pending.journal_seq
            if pending.dismissed:
                self._answer(
                    409,
                    {
                        "error": "the reading was not kept: the device has no session, sends "
                        "too much, or the journal cannot be written (see the commands)",
                        **self._commands_for(reading.device_id),
                    },
                )
                return
            if journal_seq is None:
                self._answer(
                    503,
                    {
                        "error": "the reading could not be made durable in time; send it again",
                        **self._commands_for(reading.device_id),
                    },
                )
                return
            self._answer(
                200,
                {
                    "acked": {"seq": reading.seq, "journal_seq": journal_seq},
                    **self._commands_for(reading.device_id),
                },
            )
        elif self.path == "/v1/status":
            device_id = self._alone(sender, payload, lambda: self._status(sender, payload))
            self._answer(200, self._commands_for(device_id))
        else:
            self._answer(404, {"error": f"path {show(self.path)}: POST /v1/readings or /v1/status"})

    def _reading(self, sender: str, payload: bytes) -> tuple[Reading, _Pending]:
        reading = Reading.from_json(decode(payload, caps("device")))
        self._same_device(sender, reading.device_id)
        return reading, self.owner.ingest(reading)

    def _status(self, sender: str, payload: bytes) -> str:
        body = decode(payload, caps("device"))
        if not isinstance(body, dict):
            raise InvalidInterlockInput(f"status = {show(body)}: a JSON object is required")
        device_id = self._same_device(sender, check_device_id(body.get("device_id")))
        self.owner.status(device_id, status_from_json(body))
        return device_id

    def _get(self, sender: str) -> None:
        parts = self.path.strip("/").split("/")
        if len(parts) == 4 and parts[:2] == ["v1", "devices"] and parts[3] == "commands":
            device_id = self._alone(
                sender, b"", lambda: self._same_device(sender, check_device_id(parts[2]))
            )
            self._answer(200, self._commands_for(device_id))
        else:
            self._answer(404, {"error": f"path {show(self.path)}: GET /v1/devices/ID/commands"})


class HttpDeviceLink:
    """A device's side of the HTTP ingest: each reading is POSTed with the device's token;
    the answer carries the acknowledgement, the device's pending commands and the latest
    heartbeat, each obeyed only if signed by the interlock (``interlock_key``). A failed
    POST (interlock gone) gives none of these, so the device's heartbeat watch stops it."""

    def __init__(
        self, base_url: str, *, token: str, interlock_key: str, timeout_s: float = 0.5
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self._verifier = device_verifier(interlock_key)
        self.device: Any = None
        self.timeout_s = timeout_s
        self.failures = 0
        self.rejected = 0

    def attach(self, device: Any) -> None:
        self.device = device

    def publish_reading(self, reading: Reading) -> None:
        import urllib.error
        import urllib.request

        request = urllib.request.Request(
            f"{self.base_url}/v1/readings",
            data=json.dumps(reading.to_json()).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                answer = decode(response.read(), caps("interlock"))
        except (OSError, urllib.error.URLError, ValueError):
            self.failures += 1
            return
        if self.device is not None and isinstance(answer, dict):
            self._obey(answer)

    def _obey(self, answer: dict[str, Any]) -> None:
        """Act on what verifies; count the rest."""
        try:
            self.device.on_heartbeat(self._verifier.heartbeat(answer.get("heartbeat")))
        except InvalidInterlockInput:
            self.rejected += 1
        acked = answer.get("acked")
        if isinstance(acked, dict) and isinstance(acked.get("seq"), int):
            self.device.on_ack(acked["seq"], int(acked.get("journal_seq") or 0))
        commands = answer.get("commands")
        for envelope in commands if isinstance(commands, list) else []:
            try:
                command, detail = self._verifier.command(envelope, self.device.device_id)
            except InvalidInterlockInput:
                self.rejected += 1
                continue
            self.device.on_command(command, detail)
