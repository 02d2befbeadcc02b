"""Domain operations on the records: each one transaction, with its audit entry inside it.

Adapters (API, pages, commands) check the actor's permission, parse their input, then call
one function here. Every function takes the acting user (or a label such as
``device:SN123``) first; it validates everything before writing, so a refused call leaves
nothing half-written. Import modules, not functions::

    from cryoderm.clinic.records.services import clients as client_service
    client = client_service.create(request.user, given_name="Ada", ...)
"""
