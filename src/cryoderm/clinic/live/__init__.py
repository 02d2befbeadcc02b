"""The live-session bridge between the clinic and the interlock (docs/interlock.md).

- :mod:`.runtime`: the interlock guarding this web process's simulated devices (embedded
  transport, journal under the data directory), started on first use;
- :mod:`.forward`: journal entries -> the records' readings, alarms and events, idempotently;
- :mod:`.views`: the server-sent-event stream of readings, predictions and alarms, and the
  stop / pause / resume / acknowledge actions.

The stop path never goes through Django: the interlock stops the device first and records
after; the clinic only copies what the journal holds.
"""
