"""``cryoderm serve``: serve the clinic with waitress (a production WSGI server).

    cryoderm serve [--host 127.0.0.1] [--port 8000] [--threads 8]

The data directory comes from CRYODERM_DATA_DIR, the database from DATABASE_URL when set
(see docs/deployment.md). The configuration is checked before the port opens: a database
that does not answer or unapplied migrations stop it with exit 2 and the reason.
"""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="serve the clinic (web pages and JSON API) with waitress",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    parser.add_argument("--threads", type=int, default=8, help="worker threads (default 8)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from cryoderm.clinic import runtime
    from cryoderm.errors import UserInputError

    if not 0 < args.port < 65536:
        raise UserInputError(f"--port = {args.port}: a TCP port, 1-65535")
    if args.threads < 1:
        raise UserInputError(f"--threads = {args.threads}: at least 1")
    runtime.setup()
    runtime.require_ready()

    import waitress
    from django.db import connection

    from cryoderm.clinic import storage
    from cryoderm.clinic.wsgi import application

    print(
        f"cryoderm clinic on http://{args.host}:{args.port}/ "
        f"({storage.describe(connection.settings_dict)}); Ctrl-C stops it",
        flush=True,
    )
    waitress.serve(
        application, host=args.host, port=args.port, threads=args.threads, ident="cryoderm"
    )
    return 0
