"""Behind a TLS proxy: forwarded headers are believed only from the trusted proxy."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from .processes import clinic_env, cryoderm, free_port, migrate, raw_request, serve

pytestmark = pytest.mark.slow

FORWARDED_HTTPS = (
    b"GET /login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Forwarded-Proto: https\r\n"
    b"X-Forwarded-For: 203.0.113.9\r\nConnection: close\r\n\r\n"
)


@pytest.fixture(scope="module")
def clinic_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("clinic")
    migrate(data_dir)
    return data_dir


def test_https_without_a_trusted_proxy_is_refused_at_start_up(clinic_dir: Path) -> None:
    done = subprocess.run(
        cryoderm("serve", "--port", str(free_port())),
        env=clinic_env(clinic_dir, CRYODERM_HTTPS="true"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "CRYODERM_TRUSTED_PROXIES" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_trusted_proxy_s_forwarded_scheme_is_believed(clinic_dir: Path) -> None:
    env = {"CRYODERM_HTTPS": "true", "CRYODERM_TRUSTED_PROXIES": "127.0.0.1"}
    with serve(clinic_dir, env=env) as server:
        status, answer = raw_request(server.port, FORWARDED_HTTPS)
    assert status == 200, answer


def test_anyone_else_s_forwarded_scheme_is_not(clinic_dir: Path) -> None:
    env = {"CRYODERM_HTTPS": "true", "CRYODERM_TRUSTED_PROXIES": "10.0.0.1"}
    with serve(clinic_dir, env=env) as server:
        status, answer = raw_request(server.port, FORWARDED_HTTPS)
    assert status == 301, answer
    assert b"location: https://" in answer.lower()
