"""The real ``cryoderm serve`` under hostile or careless clients.

- bodies are judged from their headers: too large is 413 and too large for an anonymous
  caller is 401, both before a byte of the body is sent; a chunked body is counted as it
  comes; a stalled body is 408;
- connections that never finish their request headers (slowloris) or never send anything
  are closed after the header deadline and never keep anyone else waiting;
- /healthz says 503 when the database cannot take a write (another process holds the lock).
"""

from __future__ import annotations

import socket
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .processes import http_get, migrate, raw_request, serve, user_token

pytestmark = pytest.mark.slow

DEADLINE_S = 2


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data_dir = tmp_path_factory.mktemp("clinic")
    migrate(data_dir)
    token = user_token(data_dir)
    env = {
        "CRYODERM_HEADER_TIMEOUT_S": str(DEADLINE_S),
        "CRYODERM_BODY_TIMEOUT_S": str(DEADLINE_S),
    }
    with serve(data_dir, env=env) as server:
        yield {"server": server, "token": token, "data_dir": data_dir}


def post_head(path: str, length: int | None, *, token: str = "", chunked: bool = False) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    if chunked:
        lines.append("Transfer-Encoding: chunked")
    if token:
        lines.append(f"Authorization: Bearer {token}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


INGEST = "/api/sessions/1/readings"


def test_a_50_mb_anonymous_body_is_refused_413_before_it_is_sent(clinic) -> None:
    started = time.monotonic()
    status, answer = raw_request(clinic["server"].port, post_head(INGEST, 50_000_000))
    assert status == 413, answer
    assert b"at most" in answer
    assert time.monotonic() - started < 5


def test_a_large_anonymous_body_is_refused_401_before_it_is_sent(clinic) -> None:
    status, answer = raw_request(clinic["server"].port, post_head(INGEST, 1_000_000))
    assert status == 401, answer
    assert b"sign in" in answer


def test_a_signed_in_caller_s_body_of_the_same_size_is_read_and_judged_by_the_api(
    clinic,
) -> None:
    body = b'{"readings": [' + b" " * 999_000 + b"]}"
    head = post_head(INGEST, len(body), token=clinic["token"])
    with socket.create_connection(("127.0.0.1", clinic["server"].port), timeout=10) as client:
        client.sendall(head)
        client.settimeout(1.0)
        with pytest.raises(TimeoutError):
            client.recv(100)  # the server waits for the body it is willing to read
        client.settimeout(10.0)
        client.sendall(body)
        answer = client.recv(65536)
    assert answer.startswith(b"HTTP/1.1 4"), answer
    assert not answer.startswith(b"HTTP/1.1 401")
    assert not answer.startswith(b"HTTP/1.1 413")


def test_a_chunked_anonymous_body_is_refused_401(clinic) -> None:
    status, _ = raw_request(clinic["server"].port, post_head(INGEST, None, chunked=True))
    assert status == 401


def test_a_chunked_body_that_outgrows_the_limit_is_cut_off_with_413(clinic) -> None:
    head = post_head(INGEST, None, token=clinic["token"], chunked=True)
    piece = b" " * 65536
    chunk = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    with socket.create_connection(("127.0.0.1", clinic["server"].port), timeout=10) as client:
        client.sendall(head)
        answer = b""
        try:
            for _ in range(64):  # 4 MiB, twice the limit
                client.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            answer = client.recv(65536)
        except ConnectionResetError:
            pytest.fail("the connection was reset before the 413 arrived")
    assert answer.startswith(b"HTTP/1.1 413"), answer


def test_a_body_that_stops_arriving_is_answered_408(clinic) -> None:
    started = time.monotonic()
    status, answer = raw_request(
        clinic["server"].port, post_head("/login/", 100), b"username=a", timeout_s=15
    )
    assert status == 408, answer
    assert DEADLINE_S - 0.5 < time.monotonic() - started < DEADLINE_S + 5


def test_connections_that_never_finish_their_headers_are_closed_and_block_nobody(
    clinic,
) -> None:
    port = clinic["server"].port
    idle = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(110)]
    slow = []
    for _ in range(110):
        client = socket.create_connection(("127.0.0.1", port), timeout=10)
        client.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        slow.append(client)
    try:
        started = time.monotonic()
        status, _ = http_get(f"{clinic['server'].base_url}/healthz", timeout_s=5)
        assert status == 200
        assert time.monotonic() - started < 2.0
        time.sleep(DEADLINE_S + 1.5)
        for client in idle + slow:
            client.settimeout(5)
            assert client.recv(100) == b"", "the server kept a half-open connection"
    finally:
        for client in idle + slow:
            client.close()


def test_healthz_says_503_while_the_database_cannot_take_a_write(clinic) -> None:
    url = f"{clinic['server'].base_url}/healthz"
    assert http_get(url)[0] == 200
    holder = sqlite3.connect(Path(clinic["data_dir"]) / "cryoderm.sqlite3", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        status, body = http_get(url)
        assert status == 503, body
        assert b"locked" in body
        assert time.monotonic() - started < 5
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert http_get(url)[0] == 200
