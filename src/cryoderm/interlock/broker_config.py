"""The broker configuration cryoderm ships, written out for a machine; a private broker.

``cryoderm/data/mosquitto/`` holds Mosquitto's configuration (``mosquitto.conf``) and ACL
(``cryoderm.acl``) for the default paths: credentials in ``/var/lib/cryoderm/credentials``,
the ACL in ``/etc/mosquitto/cryoderm``, a loopback listener on 1883, persistence in
``/var/lib/mosquitto``, topic prefix ``cryoderm/v1``. :func:`render` changes exactly those
(``cryoderm device-credentials broker-config`` writes the result); nothing else in them
differs between a deployment, the tests and the benchmark. :func:`start_local_broker` runs
``mosquitto`` on it, on a port of its own, for tests, benchmarks and demos.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from cryoderm.interlock.errors import InvalidInterlockInput

CONFIG_FILE, ACL_FILE = "mosquitto.conf", "cryoderm.acl"
MOSQUITTO = "/usr/sbin/mosquitto"
_DEFAULTS = {
    "credentials": "/var/lib/cryoderm/credentials",
    "config_dir": "/etc/mosquitto/cryoderm",
    "listener": "listener 1883 127.0.0.1",
    "persistence": "/var/lib/mosquitto/",
    "prefix": "cryoderm/v1/",
}


def shipped(name: str) -> str:
    """The text of a shipped file (``mosquitto.conf`` or ``cryoderm.acl``)."""
    return resources.files("cryoderm.data").joinpath("mosquitto", name).read_text()


def render(
    *,
    credentials_dir: Path,
    config_dir: Path,
    persistence_dir: Path,
    port: int = 1883,
    prefix: str = "cryoderm/v1",
) -> dict[str, str]:
    """The shipped configuration and ACL with this machine's paths, port and prefix."""
    clean = prefix.strip("/")
    if not clean or any(c in clean for c in "+#\n "):
        raise InvalidInterlockInput(f"topic prefix = {prefix!r}: levels without + # or spaces")
    config = shipped(CONFIG_FILE)
    changes = {
        _DEFAULTS["credentials"]: str(credentials_dir),
        _DEFAULTS["config_dir"]: str(config_dir),
        _DEFAULTS["listener"]: f"listener {port} 127.0.0.1",
        _DEFAULTS["persistence"]: f"{persistence_dir}/",
    }
    for old, new in changes.items():
        config = config.replace(old, new)
    acl = shipped(ACL_FILE).replace(_DEFAULTS["prefix"], f"{clean}/")
    return {CONFIG_FILE: config, ACL_FILE: acl}


def write(directory: Path, texts: dict[str, str]) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in texts.items():
        path = directory / name
        path.write_text(text)
        os.chmod(path, 0o644)
        paths.append(path)
    return paths


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LocalBroker:
    """A Mosquitto of our own: ``process`` on ``127.0.0.1:port``."""

    port: int
    process: subprocess.Popen[bytes]
    directory: Path
    host: str = "127.0.0.1"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def reload(self) -> None:
        """SIGHUP: the broker reads its password and ACL files again."""
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
                self.process.wait(5)


def start_local_broker(
    directory: Path, config_text: str | None = None, *, credentials_dir: Path | None = None
) -> LocalBroker:
    """Run Mosquitto on a free port: with ``config_text`` (``{port}`` filled in), or else
    with the shipped configuration for ``credentials_dir``, its files under ``directory``
    (which the broker, running as user mosquitto when started by root, must be able to
    reach)."""
    if not Path(MOSQUITTO).exists():
        raise InvalidInterlockInput(f"{MOSQUITTO} is not installed")
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    if config_text is None:
        if credentials_dir is None:
            raise InvalidInterlockInput("a local broker needs a configuration or credentials")
        persistence = directory / "persistence"
        persistence.mkdir(exist_ok=True)
        _give_to_broker(persistence)
        texts = render(
            credentials_dir=credentials_dir,
            config_dir=directory,
            persistence_dir=persistence,
            port=port,
        )
        write(directory, texts)
    else:
        (directory / CONFIG_FILE).write_text(config_text.replace("{port}", str(port)))
    log = (directory / "mosquitto.log").open("wb")
    process = subprocess.Popen(
        [MOSQUITTO, "-c", str(directory / CONFIG_FILE)], stdout=log, stderr=log
    )
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise InvalidInterlockInput(
                f"mosquitto exited: {(directory / 'mosquitto.log').read_text()[-2000:]}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return LocalBroker(port, process, directory)
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise InvalidInterlockInput("mosquitto did not listen within 10 s")


def _give_to_broker(path: Path) -> None:
    """Started by root, Mosquitto runs as user mosquitto: its persistence is its own."""
    import pwd

    if os.geteuid() != 0:
        return
    try:
        user = pwd.getpwnam("mosquitto")
    except KeyError:
        return
    os.chown(path, user.pw_uid, user.pw_gid)
