"""The export worker: writes one client's FHIR Bundle (JSON) to its standard output.

    python -m cryoderm.clinic.server.export_worker CLIENT_ID VERSION

Started by the server for an export it has already checked and audited
(:func:`cryoderm.clinic.fhir.export.export_client`); not a command of its own. It lowers its
own scheduling priority first (:func:`yield_the_cpu`): an export may wait, the clinic's
requests should not.
"""

from __future__ import annotations

import contextlib
import os
import sys

#: assumption: nice 10 lets every normal-priority process (the web server, the database)
#: run first on a busy machine while the export still progresses on an idle one.
NICENESS = 10


def yield_the_cpu() -> None:
    """Run only on CPU time nothing else wants (Linux ``SCHED_IDLE``), else at nice 10.

    Nice alone was not enough: measured under the HTTP load test (docs/benchmarks.md), an
    export worker at nice 10 still took 0.6-0.7 of a core while requests waited, and the
    clinic's p50 rose from 14 to 50 ms and its p99 from 48-65 to 250 ms; under SCHED_IDLE
    the same load answered at p50 16-19 ms, p99 52-61 ms, and more exports completed (13
    against 11), since the export then fills the gaps between requests instead of
    competing with them."""
    os.nice(NICENESS)
    idle = getattr(os, "SCHED_IDLE", None)
    if idle is not None:
        # Not allowed everywhere (a container's seccomp): nice 10 stands then.
        with contextlib.suppress(OSError):
            os.sched_setscheduler(0, idle, os.sched_param(0))


def main(argv: list[str]) -> int:
    yield_the_cpu()
    from cryoderm.clinic import runtime

    runtime.setup()
    from cryoderm.clinic.fhir.resources import VERSIONS, bundle_json
    from cryoderm.clinic.records.models import Client

    client_id, version = argv
    if version not in VERSIONS:
        print(f"version = {version!r}: one of {', '.join(VERSIONS)}", file=sys.stderr)
        return 2
    client = Client.objects.get(pk=int(client_id))
    out = sys.stdout.buffer
    try:
        for chunk in bundle_json(client, version):  # type: ignore[arg-type]
            out.write(chunk)
        out.flush()
    except BrokenPipeError:
        # The server stopped reading (its client left): nothing more to do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
