"""The ASGI application served by ``cryoderm serve`` (uvicorn): Django (one thread hop per
request, :mod:`cryoderm.clinic.server.handler`) behind the request guard (body limits and
timeouts, :mod:`cryoderm.clinic.server.guard`)."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cryoderm.clinic.settings")
django.setup(set_prefix=False)

from cryoderm.clinic.server import limits  # noqa: E402  (Django must be set up first)
from cryoderm.clinic.server.guard import RequestGuard  # noqa: E402
from cryoderm.clinic.server.handler import OneHopASGIHandler  # noqa: E402
from cryoderm.clinic.server.identity import signed_in  # noqa: E402

django_application = OneHopASGIHandler()
application = RequestGuard(django_application, limits.from_settings(), signed_in)
