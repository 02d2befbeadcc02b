"""The clinic's JSON API (django-ninja), mounted at /api/; schema at /api/openapi.json.

Adapters only: each endpoint parses, checks the caller's permission, calls one records
service and renders. Errors are rendered in one place, :mod:`cryoderm.clinic.api.errors`."""
