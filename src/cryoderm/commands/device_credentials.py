"""``cryoderm device-credentials``: issue, rotate, revoke and list devices' credentials.

    cryoderm device-credentials init   [--credentials DIR]
    cryoderm device-credentials add    DEVICE_ID [--token-file FILE] [--reload-broker PID|PIDFILE]
    cryoderm device-credentials rotate DEVICE_ID [--token-file FILE] [--reload-broker PID|PIDFILE]
    cryoderm device-credentials revoke DEVICE_ID [--reload-broker PID|PIDFILE]
    cryoderm device-credentials list
    cryoderm device-credentials broker-config --out DIR [--port N] [--topic-prefix P]
                                              [--persistence DIR]

init creates the interlock's own key and broker account. add and rotate print the device's
new token once (its broker password and its HTTP token; --token-file also writes it to a
file readable only by its owner) and the interlock's public key (the device verifies the
interlock's heartbeats and commands with it). Every change rewrites the broker's password
file (DIR/mosquitto.passwd); --reload-broker sends Mosquitto SIGHUP so that it applies at
once. broker-config writes the shipped Mosquitto configuration and ACL into DIR, for
these credentials, port, topic prefix and persistence directory. See docs/interlock.md
("Authenticated devices").
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

ACTIONS = ("init", "add", "rotate", "revoke", "list", "broker-config")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "device-credentials",
        help="issue, rotate, revoke and list devices' broker and ingest credentials",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("action", choices=ACTIONS)
    parser.add_argument("device_id", nargs="?", help="for add, rotate, revoke")
    parser.add_argument(
        "--credentials",
        metavar="DIR",
        type=Path,
        default=Path(os.environ.get("CRYODERM_DATA_DIR", "var")) / "credentials",
        help="default: $CRYODERM_DATA_DIR/credentials",
    )
    parser.add_argument("--token-file", type=Path, metavar="FILE", help="also write the token here")
    parser.add_argument(
        "--reload-broker", metavar="PID|PIDFILE", help="SIGHUP Mosquitto after the change"
    )
    parser.add_argument(
        "--broker-group",
        default="mosquitto",
        help="group the broker runs as, given read access to its password file "
        "(default mosquitto, when that group exists; '' for none)",
    )
    parser.add_argument("--out", type=Path, metavar="DIR", help="broker-config: where to write")
    parser.add_argument("--port", type=int, default=1883, help="broker-config: the listener")
    parser.add_argument("--topic-prefix", default="cryoderm/v1", help="broker-config")
    parser.add_argument(
        "--persistence",
        type=Path,
        default=Path("/var/lib/mosquitto"),
        metavar="DIR",
        help="broker-config: where the broker keeps queued messages",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import json

    from cryoderm.interlock.credentials import CredentialStore, reload_broker
    from cryoderm.interlock.errors import InvalidInterlockInput

    store = CredentialStore(args.credentials, broker_group=args.broker_group or None)
    if args.action in ("add", "rotate", "revoke") and not args.device_id:
        raise InvalidInterlockInput(f"device-credentials {args.action}: a DEVICE_ID is required")
    result: dict[str, Any] = {"action": args.action, "credentials": str(args.credentials)}
    if args.action == "broker-config":
        from cryoderm.interlock.broker_config import render, write

        if args.out is None:
            raise InvalidInterlockInput("device-credentials broker-config: --out DIR is required")
        texts = render(
            credentials_dir=args.credentials.resolve(),
            config_dir=args.out.resolve(),
            persistence_dir=args.persistence,
            port=args.port,
            prefix=args.topic_prefix,
        )
        result["written"] = [str(path) for path in write(args.out, texts)]
    elif args.action == "init":
        result["created"] = store.init()
        result["interlock_public_key"] = store.public_key()
    elif args.action == "list":
        result["devices"] = store.devices()
    elif args.action == "revoke":
        store.revoke(args.device_id)
        result["device_id"] = args.device_id
    else:
        issued = store.add(args.device_id) if args.action == "add" else store.rotate(args.device_id)
        result.update(
            device_id=issued.device_id,
            token=issued.token,
            interlock_public_key=issued.interlock_public_key,
        )
        if args.token_file:
            fd = os.open(args.token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as file:
                file.write(issued.token + "\n")
    if args.reload_broker and args.action in ("add", "rotate", "revoke"):
        result["broker_reloaded_pid"] = reload_broker(args.reload_broker)
    print(json.dumps(result, indent=2) if args.format == "json" else _text(result))
    return 0


def _text(result: dict[str, Any]) -> str:
    action = result["action"]
    lines: list[str] = []
    if action == "init":
        made = "created" if result["created"] else "already there"
        lines.append(f"interlock credentials in {result['credentials']}: {made}")
        lines.append(f"interlock public key: {result['interlock_public_key']}")
    elif action == "list":
        for device_id, entry in sorted(result["devices"].items()):
            lines.append(f"{device_id}  issued at {entry.get('issued_wall_time_s')} (Unix time)")
        lines.append(f"{len(result['devices'])} device(s)")
    elif action == "revoke":
        lines.append(f"device {result['device_id']}: credentials revoked")
    elif action == "broker-config":
        lines += [f"wrote {path}" for path in result["written"]]
    else:
        lines.append(f"device {result['device_id']}: token {result['token']}")
        lines.append("  (shown once: the device's broker password and HTTP token)")
        lines.append(f"interlock public key: {result['interlock_public_key']}")
    if action in ("add", "rotate", "revoke"):
        pid = result.get("broker_reloaded_pid")
        lines.append(
            f"broker reloaded (pid {pid})"
            if pid
            else "reload the broker to apply it (systemctl reload mosquitto, or kill -HUP)"
        )
    return "\n".join(lines)
