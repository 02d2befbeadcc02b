"""Run inside ``cryoderm manage shell`` (tests on the path): a clinic with alice, a
practitioner qualified today, and a started session of a cheek treatment planned by
cryoderm's planner, made through the clinic's own pages. Prints alice's session cookie,
then the session's id."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client as Browser
from django.urls import reverse

from clinic import personas
from clinic.test_web_sessions import ready_client
from cryoderm.clinic.records.models import TreatmentSession
from web import world

alice = personas.alice()
client = ready_client(alice)
device = world.device()
browser = Browser(HTTP_HOST="localhost")
browser.force_login(get_user_model().objects.get(pk=alice.pk))
browser.post(
    reverse("web:plan_new", args=[client.pk]),
    {"goals": ["skin-tone"], "zones": ["cheek"], "modality": "ln2-vapour", "device": device.pk},
)
session = TreatmentSession.objects.get(client=client)
browser.post(reverse("web:session_start", args=[session.pk]))
session.refresh_from_db()
assert session.status == "in-progress", session.status
print(browser.cookies[settings.SESSION_COOKIE_NAME].value)
print(session.pk)
