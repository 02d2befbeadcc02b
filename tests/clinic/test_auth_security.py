"""Security behaviour, as a user or an attacker meets it: Argon2 passwords, login lockout,
idle logout, CSRF, the content security policy and bearer tokens."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.test import Client, override_settings
from django.utils import timezone

from clinic.personas import PASSWORD
from cryoderm.clinic.accounts import checks, lockout, tokens
from cryoderm.clinic.accounts.forms import LockoutAwareAuthenticationForm
from cryoderm.clinic.accounts.middleware import LAST_ACTIVITY_KEY
from cryoderm.clinic.accounts.models import ApiToken, LoginFailure
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
        assert checks.lockout_and_idle_settings() == []
        assert checks.middleware_present() == []

    @override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.PBKDF2PasswordHasher"])
    def test_the_start_up_check_refuses_a_weaker_hasher(self) -> None:
        (error,) = checks.password_hashing()
        assert error.id == "cryoderm.accounts.E001"
        assert "not Argon2id" in error.msg

    @override_settings(CRYODERM_LOCKOUT_FAILURES=0, CRYODERM_IDLE_LOGOUT_MINUTES="15")
    def test_the_start_up_check_refuses_nonsense_policy_numbers(self) -> None:
        found = [error.msg for error in checks.lockout_and_idle_settings()]
        assert "CRYODERM_LOCKOUT_FAILURES = 0: must be an integer in [1, 100]" in found
        assert "CRYODERM_IDLE_LOGOUT_MINUTES = '15': must be an integer in [1, 1440]" in found

    @pytest.mark.django_db
    def test_a_persona_password_is_stored_as_argon2(self, alice) -> None:
        assert alice.password.startswith("argon2$argon2id$")
        assert alice.check_password(PASSWORD)


@pytest.mark.django_db
class TestLoginLockout:
    @pytest.fixture(autouse=True)
    def policy(self, settings, alice) -> None:
        settings.CRYODERM_LOCKOUT_FAILURES = 3
        settings.CRYODERM_LOCKOUT_WINDOW_S = 600
        settings.CRYODERM_LOCKOUT_DURATION_S = 600
        # The lockout does not depend on the hasher; a fast one keeps these tests fast
        # (Argon2 itself is checked in TestPasswordHashing).
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
        alice.set_password(PASSWORD)
        alice.save()

    def fail(self, username: str, times: int) -> None:
        for _ in range(times):
            assert authenticate(None, username=username, password="wrong password!") is None

    def test_three_failures_lock_the_account_even_against_the_right_password(self, alice) -> None:
        self.fail("alice", 3)
        assert authenticate(None, username="alice", password=PASSWORD) is None
        assert lockout.locked_until("alice") is not None

    def test_two_failures_do_not_lock_and_a_success_clears_them(self, alice) -> None:
        self.fail("alice", 2)
        assert authenticate(None, username="alice", password=PASSWORD) == alice
        assert not LoginFailure.objects.filter(username="alice").exists()
        self.fail("alice", 2)
        assert authenticate(None, username="alice", password=PASSWORD) == alice

    def test_the_lock_ends_after_the_duration(self, alice) -> None:
        self.fail("alice", 3)
        LoginFailure.objects.update(at=timezone.now() - dt.timedelta(seconds=601))
        assert authenticate(None, username="alice", password=PASSWORD) == alice

    def test_attempts_while_locked_are_not_counted(self, alice) -> None:
        self.fail("alice", 3)
        self.fail("alice", 2)
        assert LoginFailure.objects.filter(username="alice").count() == 3

    def test_usernames_are_counted_case_insensitively_and_unknown_ones_too(self, alice) -> None:
        self.fail("ALICE", 1)
        self.fail("Alice ", 2)
        assert lockout.locked_until("alice") is not None
        self.fail("nobody", 3)
        assert lockout.locked_until("nobody") is not None

    def test_the_login_form_says_the_account_is_locked_and_for_how_long(self, alice) -> None:
        self.fail("alice", 3)
        form = LockoutAwareAuthenticationForm(data={"username": "alice", "password": PASSWORD})
        assert not form.is_valid()
        (message,) = form.non_field_errors()
        assert message == (
            "account 'alice' is locked after repeated failed logins; "
            "try again in 10 min or ask an administrator to unlock it"
        )

    def test_an_administrator_unlocks_with_a_command(self, alice, capsys) -> None:
        self.fail("alice", 3)
        call_command("unlock_account", "alice")
        assert "alice: 3 failed login(s) forgotten" in capsys.readouterr().out
        assert authenticate(None, username="alice", password=PASSWORD) == alice


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

    def test_a_revoked_token_or_one_of_a_deactivated_user_stops_working(
        self, client: Client, alice, bob
    ) -> None:
        revoked = tokens.issue("old", user=alice)
        tokens.revoke(revoked.token)
        bobs = tokens.issue("bob's", user=bob)
        bob.is_active = False
        bob.save()
        for issued in (revoked, bobs):
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

    def test_the_issue_command_prints_the_token_once(self, alice, capsys) -> None:
        device()
        call_command("issue_token", "alice", "chiller sensor", "--device", "SN-TOKEN-1")
        out, err = capsys.readouterr()
        assert out.strip().startswith("cdt_")
        assert "cannot be shown again" in err
        assert ApiToken.objects.get().device.serial_number == "SN-TOKEN-1"


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
