"""The clinic's pages (mounted at the site root by cryoderm.clinic.urls)."""

from django.urls import include, path

from cryoderm.clinic.live import views as live_views
from cryoderm.clinic.web.views import (
    audit,
    clients,
    consent,
    corrections,
    dashboard,
    devices,
    outcomes,
    planning,
    reports,
    screening,
    sessions,
    signin,
)

app_name = "web"

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("login/", signin.SignInView.as_view(), name="login"),
    path("login/code/", signin.signin_code, name="signin_code"),
    path("login/authenticator/", signin.signin_enrol, name="signin_enrol"),
    path("account/recovery-codes/", signin.recovery_codes, name="recovery_codes"),
    path("account/security/", signin.account_security, name="account_security"),
    path("logout/", signin.SignOutView.as_view(), name="logout"),
    path("clients/", clients.client_list, name="clients"),
    path("clients/new/", clients.client_new, name="client_new"),
    path("clients/<int:pk>/", clients.client_detail, name="client"),
    path("clients/<int:pk>/correct/", corrections.client_correct, name="client_correct"),
    path("photos/<int:pk>/", clients.photo_file, name="photo"),
    path("clients/<int:pk>/screening/", screening.screening_new, name="screening_new"),
    path(
        "clients/<int:pk>/screening/preview/", screening.screening_preview, name="screening_preview"
    ),
    path("screenings/<int:pk>/", screening.screening_detail, name="screening"),
    path("clients/<int:pk>/consents/", consent.consent_list, name="consent_list"),
    path("clients/<int:pk>/consents/<str:scope>/sign/", consent.consent_sign, name="consent_sign"),
    path("consents/<int:pk>/", consent.consent_detail, name="consent"),
    path("clients/<int:pk>/plan/", planning.plan_new, name="plan_new"),
    path("sessions/<int:pk>/", sessions.session_detail, name="session"),
    path("sessions/<int:pk>/start/", sessions.session_start, name="session_start"),
    path("sessions/<int:pk>/report.pdf", reports.session_report_pdf, name="session_report"),
    path("sessions/<int:pk>/live/", include("cryoderm.clinic.live.urls")),
    path("sessions/<int:pk>/cancel/", live_views.session_cancel, name="session_cancel"),
    path("clients/<int:pk>/outcomes/new/", outcomes.outcome_new, name="outcome_new"),
    path("clients/<int:pk>/outcomes/", outcomes.outcome_trends, name="outcome_trends"),
    path("devices/", devices.device_list, name="devices"),
    path("devices/<int:pk>/", devices.device_detail, name="device"),
    path("devices/<int:pk>/correct/", corrections.device_correct, name="device_correct"),
    path(
        "calibrations/<int:pk>/correct/",
        corrections.calibration_correct,
        name="calibration_correct",
    ),
    path("scores/<int:pk>/correct/", corrections.score_correct, name="score_correct"),
    path("measures/<int:pk>/correct/", corrections.measure_correct, name="measure_correct"),
    path("staff/", devices.staff_list, name="staff"),
    path("audit/", audit.audit_log, name="audit"),
    path("audit/export/", audit.audit_export, name="audit_export"),
]
