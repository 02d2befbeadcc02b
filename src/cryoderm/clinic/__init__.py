"""The clinic: a Django project keeping cryotherapy records, gates, audit, API and pages.

Apps: ``records`` (every record model, the domain services and the session gates),
``audit`` (the append-only, hash-chained audit log), plus the accounts/api/web/live/fhir
apps built on them. Configuration lives in :mod:`cryoderm.clinic.settings` and is read from
the environment when Django starts (never at import of this package)."""
