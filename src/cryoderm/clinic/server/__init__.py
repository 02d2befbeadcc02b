"""Serving the clinic: the ASGI server, its limits, and the processes beside it.

- :mod:`.limits`: the request limits and timeouts, read from the settings at start-up;
- :mod:`.guard`: an ASGI layer in front of Django that refuses an oversized body (413) or a
  large body from a caller who is not signed in (401) before reading it, and a body that
  stalls (408);
- :mod:`.protocol`: uvicorn's HTTP protocol with a deadline for the request headers, so a
  connection that never finishes its request (slowloris) is closed;
- :mod:`.streams`: serving a synchronous generator from a thread of its own, so that a long
  answer (an export) streams under ASGI instead of being collected first;
- :mod:`.run`: ``cryoderm serve``: uvicorn, the interlock child it supervises and the
  journal forwarder, started and stopped together.
"""
