"""Where cohort blocks run: a Dask LocalCluster here, or a running scheduler elsewhere.

``with client_for(None) as client:`` starts a LocalCluster of worker processes (one per CPU
the process may use, one thread each: a block of distinct subjects runs the single-threaded
kernel, so more threads per worker would only contend) and closes it afterwards. ``client_for("tcp://host:8786")`` connects
to a scheduler someone else runs (``dask scheduler`` / ``dask worker``; the workers need
cryoderm installed) and leaves it running. No home-made cluster.

Workers load the compiled kernels from numba's on-disk cache (``cache=True``) rather than
compiling them: :func:`warm_up` runs one tiny case on every worker and returns how long
each took, so a benchmark can show it and keep it out of its timing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cryoderm.cohort.errors import InvalidCohort

SCHEMES = ("tcp://", "tls://", "inproc://", "ucx://", "ws://", "wss://")


def default_workers() -> int:
    """The CPUs this process may run on (its affinity mask), at least 1."""
    return max(1, len(os.sched_getaffinity(0)))


@contextmanager
def client_for(
    address: str | None,
    *,
    n_workers: int | None = None,
    processes: bool = True,
    timeout_s: float = 30.0,
) -> Iterator[Any]:
    """A ``distributed.Client`` for ``address``, or for a fresh LocalCluster when None.

    n_workers (LocalCluster only): default :func:`default_workers`. processes: worker
    processes (True) or threads in this process (False, for tests). timeout_s: how long to
    wait for a remote scheduler. Raises InvalidCohort for a malformed address or worker
    count; OSError (from distributed) when a scheduler cannot be reached in time."""
    from distributed import Client, LocalCluster

    if address is not None:
        if n_workers is not None:
            raise InvalidCohort(
                "n_workers", n_workers, "only for a local cluster (the scheduler has its own)"
            )
        if not address.startswith(SCHEMES) or len(address) <= address.index("//") + 2:
            raise InvalidCohort(
                "scheduler", address, "a Dask scheduler address such as tcp://host:8786"
            )
        with Client(address, timeout=f"{timeout_s}s") as client:
            yield client
        return
    workers = default_workers() if n_workers is None else n_workers
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= 256:
        raise InvalidCohort("n_workers", workers, "a whole number from 1 to 256")
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=processes,
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def _tiny_run() -> float:
    from cryoderm.physics.casefile import parse_case
    from cryoderm.physics.engine import simulate

    start = time.perf_counter()
    case = parse_case(
        {
            "format": "cryoderm-case/1",
            "tissue": {"zone": "cheek"},
            "phase": [
                {
                    "modality": "cold-air",
                    "gas_temp_c": -30.0,
                    "air_speed_m_s": 4.4,
                    "duration_s": 1.0,
                }
            ],
        }
    )
    simulate(case)
    return time.perf_counter() - start


def warm_up(client: Any) -> dict[str, float]:
    """Run one tiny case on every worker: worker address -> seconds (imports and kernels)."""
    seconds: dict[str, float] = client.run(_tiny_run)
    return seconds
