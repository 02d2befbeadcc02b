"""How big the gallery's designs are: full size, or small when CRYODERM_GALLERY_SMALL is set
(the test suite runs every example that way, in a few seconds each)."""

from __future__ import annotations

import os


def small() -> bool:
    return bool(os.environ.get("CRYODERM_GALLERY_SMALL"))


def size(full: int, quick: int) -> int:
    return quick if small() else full
