"""The ASGI application served by ``cryoderm serve`` (uvicorn): Django behind the request
guard (body limits and timeouts, :mod:`cryoderm.clinic.server.guard`)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cryoderm.clinic.settings")

django_application = get_asgi_application()

from cryoderm.clinic.server import limits  # noqa: E402  (Django must be set up first)
from cryoderm.clinic.server.guard import RequestGuard  # noqa: E402
from cryoderm.clinic.server.identity import signed_in  # noqa: E402

application = RequestGuard(django_application, limits.from_settings(), signed_in)
