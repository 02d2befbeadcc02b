"""The export worker: writes one client's FHIR Bundle (JSON) to its standard output.

    python -m cryoderm.clinic.server.export_worker CLIENT_ID VERSION

Started by the server for an export it has already checked and audited
(:func:`cryoderm.clinic.fhir.export.export_client`); not a command of its own. It lowers its
own scheduling priority first: an export may wait, the clinic's requests should not.
"""

from __future__ import annotations

import os
import sys

#: assumption: nice 10 lets every normal-priority process (the web server, the database)
#: run first on a busy machine while the export still progresses on an idle one.
NICENESS = 10


def main(argv: list[str]) -> int:
    os.nice(NICENESS)
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
