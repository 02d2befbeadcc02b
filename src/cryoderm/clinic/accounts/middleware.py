"""Idle logout, and a guard on the session cookie's shape.

Idle logout: a UI session with no user activity for CRYODERM_IDLE_LOGOUT_MINUTES ends.

The clock is kept server-side in the session, so a page left open cannot keep it alive by
itself: requests carrying the header ``X-Cryoderm-Passive: 1`` (background polling such as a
live temperature panel) are served but do not count as activity (carlos-emr #144: a
keep-alive must not extend a session forever). Each response to a signed-in user carries
``X-Idle-Logout-In-S`` so the page can warn before the logout (HHS TTADP #79)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse

from cryoderm.clinic.accounts import config

LAST_ACTIVITY_KEY = "cryoderm_last_activity_s"
PASSIVE_HEADER = "X-Cryoderm-Passive"
_SESSION_KEY = re.compile(r"[a-z0-9]{32}")


class IdleLogoutMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return self.get_response(request)
        idle_s = config.current().idle_logout_minutes * 60
        now = time.time()
        last = request.session.get(LAST_ACTIVITY_KEY)
        if isinstance(last, int | float) and now - last > idle_s:
            logout(request)
            return self._expired(request, idle_s)
        passive = request.headers.get(PASSIVE_HEADER) == "1"
        if not passive or last is None:
            request.session[LAST_ACTIVITY_KEY] = now
            last = now
        response = self.get_response(request)
        response["X-Idle-Logout-In-S"] = str(max(0, int(idle_s - (now - last))))
        return response

    @staticmethod
    def _expired(request: HttpRequest, idle_s: int) -> HttpResponse:
        message = f"signed out after {idle_s // 60} min without activity; please sign in again"
        if request.path.startswith("/api/") or request.headers.get("HX-Request"):
            return JsonResponse({"detail": message, "field": None}, status=401)
        query = urlencode({"next": request.get_full_path(), "idle": "1"})
        return HttpResponseRedirect(f"{settings.LOGIN_URL}?{query}")


class SessionCookieShapeMiddleware:
    """Drops a session cookie that cannot be a session key before Django looks it up.

    Django's keys are 32 characters of ``[a-z0-9]``; anything else (a NUL byte, say) is no
    session at all, and sent to PostgreSQL it would raise an error (a 500) instead of
    treating the caller as signed out. Placed before SessionMiddleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        name = settings.SESSION_COOKIE_NAME
        key = request.COOKIES.get(name)
        if key is not None and not _SESSION_KEY.fullmatch(key):
            del request.COOKIES[name]
        return self.get_response(request)
