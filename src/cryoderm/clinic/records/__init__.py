"""Every record the clinic keeps, the domain services over them and the session gates.

Models live in :mod:`.models` (one module per domain); services in :mod:`.services` (each
operation one transaction, with its audit entry in the same transaction); the gates that a
session must pass in :mod:`.gates`."""
