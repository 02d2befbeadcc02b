"""``cryoderm serve``: serve the clinic (pages and JSON API) with uvicorn (ASGI).

    cryoderm serve [--host 127.0.0.1] [--port 8000] [--access-log]

The data directory comes from CRYODERM_DATA_DIR, the database from DATABASE_URL when set;
request limits, timeouts and trusted proxies from the variables in docs/deployment.md. The
configuration is checked before the port opens: a database that does not answer or
unapplied migrations stop it with exit 2 and the reason.
"""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="serve the clinic (web pages and JSON API) with uvicorn",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    parser.add_argument(
        "--access-log", action="store_true", help="log one line per request on standard error"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from cryoderm.clinic import runtime
    from cryoderm.errors import UserInputError

    if not 0 < args.port < 65536:
        raise UserInputError(f"--port = {args.port}: a TCP port, 1-65535")
    runtime.setup()
    runtime.require_ready()

    import uvicorn
    from django.conf import settings
    from django.db import connection

    from cryoderm.clinic import storage
    from cryoderm.clinic.server import limits
    from cryoderm.clinic.server.run import ServerOptions, uvicorn_config

    if settings.HTTPS and not settings.CRYODERM_TRUSTED_PROXIES:
        raise UserInputError(
            "CRYODERM_HTTPS=true needs CRYODERM_TRUSTED_PROXIES: the address of the TLS proxy "
            "whose X-Forwarded-Proto the server may believe"
        )
    options = ServerOptions(
        host=args.host,
        port=args.port,
        limits=limits.from_settings(),
        trusted_proxies=tuple(settings.CRYODERM_TRUSTED_PROXIES),
        access_log=args.access_log,
    )
    print(
        f"cryoderm clinic on http://{args.host}:{args.port}/ "
        f"({storage.describe(connection.settings_dict)}); Ctrl-C stops it",
        flush=True,
    )
    connection.close()
    uvicorn.Server(uvicorn_config(options)).run()
    return 0
