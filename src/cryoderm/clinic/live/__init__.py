"""The live-session bridge between the clinic and the interlock, which runs in a process
of its own (``cryoderm interlock``, started and supervised by ``cryoderm serve``).

- :mod:`.channel`: the interlock's journal (read) and control channel (commands);
- :mod:`.forward` and :mod:`.forwarder`: journal entries -> the records' readings, alarms,
  events, zone states and the session's end, in a background thread, idempotently;
- :mod:`.stream`: the session's journal entries as server-sent events (asynchronous under
  ASGI: an open live page holds no server thread);
- :mod:`.views`: the live page and the practitioner's actions, each one call of
  :mod:`cryoderm.clinic.records.services.live_control`.

The stop path never goes through Django: the interlock stops the device first and records
after; the clinic reads what happened from the journal and sends commands to the interlock.
"""
