"""Whether the caller of a request is signed in, from its headers alone (before its body).

The same two ways in as the clinic's pages and API: the session cookie, judged by Django's
own ``auth.get_user`` (which also checks the session against the user's password hash), or a
bearer token, judged by :func:`cryoderm.clinic.accounts.tokens.authenticate`."""

from __future__ import annotations

from collections.abc import Mapping

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib import auth
from django.db import connections
from django.http import HttpRequest
from django.http.cookie import parse_cookie
from django.utils.module_loading import import_string

from cryoderm.clinic.accounts import tokens


def signed_in_sync(headers: Mapping[str, str]) -> bool:
    try:
        authorization = headers.get("authorization", "")
        if authorization[:7].lower() == "bearer ":
            return tokens.authenticate(authorization[7:].strip()) is not None
        key = parse_cookie(headers.get("cookie", "")).get(settings.SESSION_COOKIE_NAME)
        if not key:
            return False
        request = HttpRequest()
        request.session = import_string(settings.SESSION_ENGINE + ".SessionStore")(key)
        return bool(auth.get_user(request).is_authenticated)
    finally:
        # This runs in a worker thread outside any request: leave no connection open there.
        connections.close_all()


async def signed_in(headers: Mapping[str, str]) -> bool:
    return bool(await sync_to_async(signed_in_sync, thread_sensitive=False)(headers))
