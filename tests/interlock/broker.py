"""A private Mosquitto for one test: started on a free port from a configuration file.

The machine's shared broker (127.0.0.1:1883) lets anonymous clients in and holds retained
messages of everyone's tests; attack tests run their own broker instead, so that what they
send and what they leave behind concern nobody else.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

MOSQUITTO = "/usr/sbin/mosquitto"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Broker:
    host: str
    port: int
    process: subprocess.Popen
    config: Path

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def reload(self) -> None:
        """SIGHUP: Mosquitto reads its password and ACL files again."""
        import signal

        self.process.send_signal(signal.SIGHUP)
        time.sleep(0.3)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()


def start_broker(directory: Path, config_text: str) -> Broker:
    """Write ``config_text`` (with ``{port}`` to fill in) and run Mosquitto on it."""
    if shutil.which(MOSQUITTO) is None and not Path(MOSQUITTO).exists():
        pytest.skip(f"{MOSQUITTO} is not installed")
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = directory / "mosquitto.conf"
    config.write_text(config_text.replace("{port}", str(port)))
    log = (directory / "mosquitto.log").open("wb")
    process = subprocess.Popen([MOSQUITTO, "-c", str(config)], stdout=log, stderr=log)
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"mosquitto exited: {(directory / 'mosquitto.log').read_text()[-2000:]}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return Broker("127.0.0.1", port, process, config)
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("mosquitto did not listen within 10 s")


ANONYMOUS_CONFIG = """\
per_listener_settings false
listener {port} 127.0.0.1
allow_anonymous true
set_tcp_nodelay true
"""
