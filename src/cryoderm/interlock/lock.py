"""One interlock per journal: an exclusive lock on the journal directory.

The interlock that guards sessions is the only writer of their stops. Two interlocks on
one journal would each "close the orphans" of the other at start-up, recording stops for
sessions the other is guarding. So :meth:`Interlock.open` first takes an exclusive,
non-blocking ``flock`` on ``DIR/interlock.lock`` and holds it for the process's lifetime;
a second interlock on the same directory is refused (:class:`~.errors.JournalInUse`, exit
code 2, with the holder's pid). The kernel releases the lock when the holder dies (SIGKILL
included), so a restarted interlock takes it over at once.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from cryoderm.interlock.errors import InvalidInterlockInput, JournalInUse

LOCK_FILE = "interlock.lock"


class DirectoryLock:
    """An exclusive lock on ``directory / name`` held until :meth:`release` (or death)."""

    def __init__(self, directory: Path, name: str = LOCK_FILE, holder: str = "interlock") -> None:
        self.path = Path(directory) / name
        self.holder = holder
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock now or raise :class:`JournalInUse` naming the holder's pid."""
        if self._fd is not None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise InvalidInterlockInput(
                f"journal directory = {str(self.path.parent)!r}: cannot open {self.path.name} "
                f"({error.strerror})"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise JournalInUse(
                f"journal {str(self.path.parent)!r} is in use by another {self.holder} "
                f"(pid {owner}): one {self.holder} per journal directory"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def held_by_another(self) -> bool:
        """Whether someone else holds the lock now (a probe: takes and releases it)."""
        if self._fd is not None:
            return False
        try:
            self.acquire()
        except JournalInUse:
            return True
        self.release()
        return False

    def release(self) -> None:
        if self._fd is None:
            return
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None
