"""Security behaviour, as a user or an attacker meets it: Argon2 passwords, idle logout,
CSRF, the content security policy and bearer tokens (issue, expiry, revocation). Signing in
(the throttle, second factors): test_signin.py."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.test import Client, override_settings
from django.utils import timezone

from clinic.personas import PASSWORD
from cryoderm.clinic.accounts import checks, tokens
from cryoderm.clinic.accounts.middleware import LAST_ACTIVITY_KEY
from cryoderm.clinic.accounts.models import ApiToken
from cryoderm.clinic.records.models import Device


class TestPasswordHashing:
    def test_new_passwords_are_hashed_with_argon2id_at_owasp_strength(self) -> None:
        encoded = make_password("a long enough passphrase")
        algorithm, variant, _version, params, _salt, _hash = encoded.split("$")
        assert (algorithm, variant) == ("argon2", "argon2id")
        values = dict(item.split("=") for item in params.split(","))
        assert int(values["m"]) >= 19 * 1024
        assert int(values["t"]) >= 2

    def test_the_start_up_check_passes_with_the_shipped_settings(self) -> None:
        assert checks.password_hashing() == []
        assert checks.throttle_idle_and_mfa_settings() == []
        assert checks.middleware_present() == []

    @override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.PBKDF2PasswordHasher"])
    def test_the_start_up_check_refuses_a_weaker_hasher(self) -> None:
        (error,) = checks.password_hashing()
        assert error.id == "cryoderm.accounts.E001"
        assert "not Argon2id" in error.msg

    @override_settings(
        CRYODERM_SIGNIN_FREE_FAILURES=0,
        CRYODERM_IDLE_LOGOUT_MINUTES="15",
        CRYODERM_MFA_REQUIRED_ROLES=("practitioner", "surgeon"),
    )
    def test_the_start_up_check_refuses_nonsense_policy_numbers(self) -> None:
        found = [error.msg for error in checks.throttle_idle_and_mfa_settings()]
        assert "CRYODERM_SIGNIN_FREE_FAILURES = 0: must be an integer in [1, 100]" in found
        assert "CRYODERM_IDLE_LOGOUT_MINUTES = '15': must be an integer in [1, 1440]" in found
        assert any(
            m.startswith("CRYODERM_MFA_REQUIRED_ROLES = ('practitioner', 'surgeon')") for m in found
        )

    @pytest.mark.django_db
    def test_a_persona_password_is_stored_as_argon2(self, alice) -> None:
        assert alice.password.startswith("argon2$argon2id$")
        assert alice.check_password(PASSWORD)


@pytest.mark.django_db
class TestIdleLogout:
    @pytest.fixture(autouse=True)
    def policy(self, settings) -> None:
        settings.CRYODERM_IDLE_LOGOUT_MINUTES = 15

    def idle_for(self, client: Client, seconds: float) -> None:
        session = client.session
        session[LAST_ACTIVITY_KEY] = time.time() - seconds
        session.save()

    def test_activity_within_the_limit_keeps_the_session(self, client: Client, alice) -> None:
        client.force_login(alice)
        self.idle_for(client, 14 * 60)
        response = client.get("/api/me")
        assert response.status_code == 200
        assert int(response["X-Idle-Logout-In-S"]) > 14 * 60

    def test_an_api_call_after_15_idle_minutes_is_refused_and_the_session_ended(
        self, client: Client, alice
    ) -> None:
        client.force_login(alice)
        self.idle_for(client, 15 * 60 + 1)
        response = client.get("/api/me")
        assert response.status_code == 401
        assert response.json()["detail"] == (
            "signed out after 15 min without activity; please sign in again"
        )
        assert client.get("/api/me").status_code == 401

    def test_a_page_after_idling_redirects_to_the_login_keeping_the_destination(
        self, client: Client, alice
    ) -> None:
        client.force_login(alice)
        self.idle_for(client, 16 * 60)
        response = client.get("/healthz")
        assert response.status_code == 302
        assert response["Location"] == "/login/?next=%2Fhealthz&idle=1"

    def test_background_polling_does_not_count_as_activity(self, client: Client, alice) -> None:
        client.force_login(alice)
        self.idle_for(client, 10 * 60)
        before = client.session[LAST_ACTIVITY_KEY]
        response = client.get("/api/me", headers={"X-Cryoderm-Passive": "1"})
        assert response.status_code == 200
        assert client.session[LAST_ACTIVITY_KEY] == before
        self.idle_for(client, 15 * 60 + 1)
        assert client.get("/api/me", headers={"X-Cryoderm-Passive": "1"}).status_code == 401


@pytest.mark.django_db
class TestBrowserHeaders:
    def test_every_response_carries_a_strict_content_security_policy(self, client: Client) -> None:
        policy = client.get("/healthz")["Content-Security-Policy"]
        directives = dict(
            ([*part.split(" ", 1), ""])[:2] for part in (p.strip() for p in policy.split(";"))
        )
        assert directives["default-src"] == "'self'"
        assert directives["object-src"] == "'none'"
        assert directives["frame-ancestors"] == "'none'"
        assert "'unsafe-inline'" not in policy
        assert "'unsafe-eval'" not in policy

    def test_the_api_docs_load_nothing_from_other_sites(self, client: Client) -> None:
        page = client.get("/api/docs").content.decode()
        assert "cdn." not in page
        assert "/static/ninja/swagger-ui-bundle.js" in page

    def test_a_session_post_without_the_csrf_token_is_refused(self, alice) -> None:
        browser = Client(enforce_csrf_checks=True)
        browser.force_login(alice)
        response = browser.post(
            "/api/clients", {"given_name": "X"}, content_type="application/json"
        )
        assert response.status_code == 403
        assert response.json()["detail"].startswith("CSRF check failed")


def device() -> Device:
    return Device.objects.create(
        modality="cold-air",
        manufacturer="Example",
        model_name="Chiller",
        serial_number="SN-TOKEN-1",
        commissioned_on=dt.date.today() - dt.timedelta(days=10),
        calibration_interval_days=180,
        service_interval_days=365,
    )


@pytest.mark.django_db
class TestTokens:
    def test_a_token_is_shown_once_and_stored_only_as_a_hash(self, alice) -> None:
        issued = tokens.issue("reporting", user=alice)
        secret = issued.plaintext.split("_", 2)[2]
        stored = ApiToken.objects.get()
        assert issued.plaintext.startswith(f"cdt_{stored.prefix}_")
        assert secret not in (stored.secret_sha256, stored.prefix, stored.name)
        assert len(stored.secret_sha256) == 64

    def test_a_user_token_acts_with_the_users_roles(self, client: Client, alice) -> None:
        issued = tokens.issue("reporting", user=alice)
        response = client.get("/api/me", headers={"Authorization": f"Bearer {issued.plaintext}"})
        assert response.status_code == 200
        assert response.json()["roles"] == ["practitioner"]

    @pytest.mark.parametrize("mangle", ["wrong-secret", "no-prefix", "other-scheme"])
    def test_a_wrong_or_malformed_token_is_refused(self, client: Client, alice, mangle) -> None:
        plaintext = tokens.issue("reporting", user=alice).plaintext
        bad = {
            "wrong-secret": plaintext[:-4] + "AAAA",
            "no-prefix": plaintext.split("_", 2)[2],
            "other-scheme": "xyz" + plaintext[3:],
        }[mangle]
        response = client.get("/api/me", headers={"Authorization": f"Bearer {bad}"})
        assert response.status_code == 401

    def test_a_revoked_or_expired_token_or_one_of_a_deactivated_user_stops_working(
        self, client: Client, alice, bob
    ) -> None:
        revoked = tokens.issue("old", user=alice)
        tokens.revoke(revoked.token)
        expired = tokens.issue("short", user=alice, days=1)
        ApiToken.objects.filter(pk=expired.token.pk).update(
            expires_at=timezone.now() - dt.timedelta(seconds=1)
        )
        bobs = tokens.issue("bob's", user=bob)
        bob.is_active = False
        bob.save()
        for issued in (revoked, expired, bobs):
            headers = {"Authorization": f"Bearer {issued.plaintext}"}
            assert client.get("/api/me", headers=headers).status_code == 401

    def test_a_device_token_is_scoped_to_its_device_and_holds_no_role(
        self, client: Client, alice
    ) -> None:
        chiller = device()
        issued = tokens.issue("chiller sensor", user=alice, device=chiller)
        headers = {"Authorization": f"Bearer {issued.plaintext}"}
        me = client.get("/api/me", headers=headers).json()
        assert me["roles"] == ["device"]
        assert me["device_id"] == chiller.pk
        assert me["allowed_actions"] == ["reading.ingest"]
        refused = client.get("/api/clients", headers=headers)
        assert refused.status_code == 403
        assert refused.json()["detail"].startswith("device token 'chiller sensor' may not")

    def test_the_issue_command_prints_the_token_once_with_its_expiry(self, alice, capsys) -> None:
        device()
        call_command("issue_token", "alice", "chiller sensor", "--device", "SN-TOKEN-1")
        out, err = capsys.readouterr()
        assert out.strip().startswith("cdt_")
        assert "cannot be shown again" in err and "It expires on" in err
        token = ApiToken.objects.get()
        assert token.device.serial_number == "SN-TOKEN-1"
        lifetime = token.expires_at - token.created_at
        assert dt.timedelta(days=364) < lifetime <= dt.timedelta(days=365)

    def test_every_token_expires_by_default_and_no_later_than_the_limit(self, alice) -> None:
        issued = tokens.issue("reporting", user=alice)
        lifetime = issued.token.expires_at - issued.token.created_at
        assert dt.timedelta(days=89) < lifetime <= dt.timedelta(days=90)
        with pytest.raises(Exception, match=r"days = 731: a whole number of days from 1 to 730"):
            tokens.issue("forever", user=alice, days=731)

    def test_tokens_are_listed_without_secrets_and_revoked_by_command(
        self, client: Client, alice, bob, capsys
    ) -> None:
        from cryoderm.clinic.audit.models import AuditEntry

        first = tokens.issue("reporting", user=alice)
        second = tokens.issue("export", user=alice)
        bobs = tokens.issue("bob's", user=bob)
        call_command("list_tokens")
        listing = capsys.readouterr().out
        assert first.token.prefix in listing and "user alice: reporting" in listing
        assert first.plaintext.split("_", 2)[2] not in listing
        call_command("revoke_token", first.token.prefix)
        assert f"revoked {first.token.prefix} (reporting)" in capsys.readouterr().out
        call_command("revoke_token", "--user", "alice")
        assert "1 token(s) revoked, 1 already were" in capsys.readouterr().out
        for issued in (first, second):
            headers = {"Authorization": f"Bearer {issued.plaintext}"}
            assert client.get("/api/me", headers=headers).status_code == 401
        headers = {"Authorization": f"Bearer {bobs.plaintext}"}
        assert client.get("/api/me", headers=headers).status_code == 200
        call_command("list_tokens", "--all")
        assert listing.count("active") == 3 and "revoked" in capsys.readouterr().out
        audited = AuditEntry.objects.filter(action__startswith="token.").values_list(
            "action", flat=True
        )
        assert sorted(audited) == ["token.issue"] * 3 + ["token.revoke"] * 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    "cookie", ["abc\x00defghijklmnop", "x" * 5000, "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"]
)
def test_a_malformed_session_cookie_is_treated_as_signed_out(cookie: str) -> None:
    browser = Client()
    browser.cookies["cryoderm_session"] = cookie
    assert browser.get("/api/me").status_code == 401


@pytest.mark.django_db
def test_the_login_form_needs_its_csrf_token(alice) -> None:
    browser = Client(enforce_csrf_checks=True)
    response = browser.post("/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 403
