"""Request limits and timeouts of the clinic's server (docs/deployment.md, "Serving").

Read once from the settings (which read the environment) when the server starts; each value
carries its reasoning. Every limit is a whole number of bytes or a number of seconds."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

#: assumption: the largest legitimate JSON body is a reading batch of 10,000 readings (the
#: API's maximum batch) at about 130 bytes each with its ISO time, i.e. about 1.3 MB.
MAX_BODY_BYTES = 2 * 1024 * 1024
#: assumption: a photograph may be 10 MiB (web.forms.PhotoForm.MAX_BYTES) and the rest of
#: its multipart form is far below 1 MiB.
MAX_UPLOAD_BYTES = 11 * 1024 * 1024
#: assumption: what an anonymous caller may legitimately send is the sign-in form (well under
#: 1 KiB); any body larger than this is read only after the caller is known to be signed in.
ANONYMOUS_BODY_BYTES = 64 * 1024
#: assumption: a client sends its request headers (at most a few KiB) well within a second
#: even on a poor clinic network; 10 s leaves margin and still closes a slowloris connection.
HEADER_TIMEOUT_S = 10.0
#: assumption: between two pieces of a request body a healthy client pauses far less than
#: 30 s (a 10 MiB photo on a 1 Mbit/s uplink arrives continuously in about 90 s).
BODY_TIMEOUT_S = 30.0
#: assumption: an idle keep-alive connection is reused within seconds by a browser or an
#: ingest client, or not at all (uvicorn's default, 5 s).
KEEP_ALIVE_S = 5
#: assumption: a clinic has a few dozen staff devices and sensors; 1,000 open connections and
#: requests at once is far beyond that and below the process's descriptor limit, so the
#: server answers 503 rather than running out of descriptors under a flood.
MAX_CONNECTIONS = 1000
#: assumption: on SIGTERM, ongoing answers get 5 s to finish; live streams, which never
#: finish, are then cut (the browser reconnects to the next server).
GRACEFUL_SHUTDOWN_S = 5


@dataclass(frozen=True)
class ServingLimits:
    """max_body_bytes: any body but a multipart upload; max_upload_bytes: multipart/form-data;
    anonymous_body_bytes: above it, the caller must be signed in before the body is read;
    header_timeout_s: first byte of a request to the end of its headers; body_timeout_s:
    longest pause inside a body; keep_alive_s: idle time between two requests of one
    connection; max_connections: open connections plus running requests before 503."""

    max_body_bytes: int = MAX_BODY_BYTES
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    anonymous_body_bytes: int = ANONYMOUS_BODY_BYTES
    header_timeout_s: float = HEADER_TIMEOUT_S
    body_timeout_s: float = BODY_TIMEOUT_S
    keep_alive_s: int = KEEP_ALIVE_S
    max_connections: int = MAX_CONNECTIONS
    graceful_shutdown_s: int = GRACEFUL_SHUTDOWN_S

    def body_limit(self, content_type: str) -> int:
        if content_type.split(";", 1)[0].strip().lower() == "multipart/form-data":
            return self.max_upload_bytes
        return self.max_body_bytes


def from_settings() -> ServingLimits:
    """The limits of this deployment (the settings read CRYODERM_MAX_BODY_BYTES,
    CRYODERM_MAX_UPLOAD_BYTES, CRYODERM_MAX_CONNECTIONS, CRYODERM_HEADER_TIMEOUT_S and
    CRYODERM_BODY_TIMEOUT_S; the defaults are the constants above)."""
    return ServingLimits(
        max_body_bytes=settings.CRYODERM_MAX_BODY_BYTES,
        max_upload_bytes=settings.CRYODERM_MAX_UPLOAD_BYTES,
        header_timeout_s=float(settings.CRYODERM_HEADER_TIMEOUT_S),
        body_timeout_s=float(settings.CRYODERM_BODY_TIMEOUT_S),
        max_connections=settings.CRYODERM_MAX_CONNECTIONS,
    )
