"""Private Mosquittos for the tests (cryoderm.interlock.broker_config runs them).

The machine's shared broker (127.0.0.1:1883) lets anonymous clients in and holds retained
messages of everyone's tests; attack tests run their own broker instead: the shipped
configuration (fixture ``secure_broker``), or an open one (``anonymous_broker``) for the
attacks an open broker allows.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

ANONYMOUS_CONFIG = """\
per_listener_settings false
listener {port} 127.0.0.1
allow_anonymous true
set_tcp_nodelay true
"""


def broker_readable_dir(prefix: str) -> Path:
    """A temporary directory the broker can reach: Mosquitto started as root runs as user
    mosquitto, which cannot enter pytest's private temporary directories."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(path, 0o755)
    return path
