"""The sub-commands of ``cryoderm``, one module each (see :mod:`cryoderm.cli`)."""
