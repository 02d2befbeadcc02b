"""Changes to a login that give or take power are audited whatever made them.

A password set, an account activated or deactivated, and the staff or superuser flags
changed are written to the audit log when the user row is saved: from the pages, a command
(``changepassword``, ``createsuperuser``) or the Django shell alike, so that an operator
who sets a colleague's password to sign in as them leaves an entry. The actor is
``system``: a save does not say who made it (the commands that know, such as
``grant_role``, record their own entry naming them). Never the password or its hash.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models.signals import post_save, pre_save

#: The user's fields whose change is audited, and the name of the change.
WATCHED = {
    "password": "account.password_set",
    "is_active": "account.active_changed",
    "is_staff": "account.staff_changed",
    "is_superuser": "account.superuser_changed",
}


def _before(sender: Any, instance: Any, **kwargs: Any) -> None:
    if instance.pk is None or kwargs.get("raw"):
        instance._cryoderm_before = None
        return
    fields = kwargs.get("update_fields")
    if fields is not None and not set(fields) & set(WATCHED):
        # A save of other fields only (last_login at each sign-in) changes none of these.
        instance._cryoderm_before = None
        return
    instance._cryoderm_before = (
        sender._default_manager.filter(pk=instance.pk).values(*WATCHED).first()
    )


def _after(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    from cryoderm.clinic import audit

    if kwargs.get("raw"):
        return
    before = getattr(instance, "_cryoderm_before", None)
    if created or before is None:
        # A new login holds no clinic role until one is granted (audited by grant_role).
        return
    for field, action in WATCHED.items():
        now = getattr(instance, field)
        if before[field] != now:
            detail = {} if field == "password" else {field: now}
            audit.record("system", action, instance, detail)
    instance._cryoderm_before = None


def connect() -> None:
    user_model = get_user_model()
    pre_save.connect(_before, sender=user_model, dispatch_uid="cryoderm-account-before")
    post_save.connect(_after, sender=user_model, dispatch_uid="cryoderm-account-after")
