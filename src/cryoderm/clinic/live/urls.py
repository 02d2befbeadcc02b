"""The live view's URLs, mounted under ``sessions/<pk>/live/`` by the clinic's pages."""

from django.urls import path

from cryoderm.clinic.live import views

urlpatterns = [
    path("", views.live_page, name="session_live"),
    path("stream/", views.live_stream, name="session_stream"),
    path("start-zone/", views.live_start_zone, name="session_start_zone"),
    path("resume-zone/", views.live_resume_after_stop, name="session_resume_zone"),
    path("end-zone/", views.live_end_zone, name="session_end_zone"),
    path("end/", views.live_end, name="session_end"),
    path("<str:action>/", views.live_action, name="session_action"),
]
