"""``cryoderm serve``: the clinic's ASGI application under uvicorn, with its limits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cryoderm.clinic.server.limits import ServingLimits
from cryoderm.clinic.server.protocol import HeaderDeadlineProtocol


@dataclass(frozen=True)
class ServerOptions:
    """host/port: where to listen; trusted_proxies: addresses whose X-Forwarded-* headers
    are believed; access_log: one line per request on standard error."""

    host: str
    port: int
    limits: ServingLimits
    trusted_proxies: tuple[str, ...] = ()
    access_log: bool = False


def uvicorn_config(options: ServerOptions, app: Any = "cryoderm.clinic.asgi:application") -> Any:
    import uvicorn

    limits = options.limits
    protocol = type(
        "ClinicHttpProtocol",
        (HeaderDeadlineProtocol,),
        {"header_timeout_s": limits.header_timeout_s},
    )
    return uvicorn.Config(
        app,
        host=options.host,
        port=options.port,
        http=protocol,
        lifespan="off",
        limit_concurrency=limits.max_connections,
        timeout_keep_alive=limits.keep_alive_s,
        timeout_graceful_shutdown=limits.graceful_shutdown_s,
        proxy_headers=bool(options.trusted_proxies),
        forwarded_allow_ips=list(options.trusted_proxies) or None,
        server_header=False,
        access_log=options.access_log,
    )
