"""Signing in and out through the pages, as staff and as an attacker meet them: the throttle
slows whoever fails without locking anyone out; roles that need a second factor set one up
and then give a code; recovery codes work once; the second step cannot be skipped."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pyotp
import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import Client as Browser
from django.utils import timezone

from clinic import personas
from clinic.personas import PASSWORD
from cryoderm.clinic.accounts import mfa, throttle
from cryoderm.clinic.accounts.models import LoginFailure, RecoveryCode, TotpDevice
from cryoderm.clinic.audit.models import AuditEntry

pytestmark = pytest.mark.django_db

STRANGER, COLLEAGUE = "203.0.113.66", "198.51.100.7"


@pytest.fixture(autouse=True)
def fast_passwords(settings, alice: Any, bob: Any) -> None:
    # The throttle does not depend on the hasher; a fast one keeps these tests fast
    # (Argon2 itself is checked in test_auth_security).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    for user in (alice, bob):
        user.set_password(PASSWORD)
        user.save()


def post_password(browser: Browser, username: str, password: str, ip: str = COLLEAGUE) -> Any:
    return browser.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def signed_in_as(browser: Browser) -> str | None:
    response = browser.get("/api/me")
    return response.json()["username"] if response.status_code == 200 else None


# -- signing out ---------------------------------------------------------------------------


def test_signing_out_ends_the_session_on_the_sign_in_page(alice: Any) -> None:
    browser = Browser()
    browser.force_login(alice)
    response = browser.post("/logout/", follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0].startswith("/login/")
    assert browser.get("/api/me").status_code == 401
    assert AuditEntry.objects.filter(action="auth.sign_out").count() == 1


def test_the_idle_sign_out_form_returns_to_its_page(alice: Any) -> None:
    browser = Browser()
    browser.force_login(alice)
    response = browser.post("/logout/", {"next": "/login/?idle=1&next=/clients/"})
    assert response.status_code == 302
    assert response["Location"] == "/login/?idle=1&next=/clients/"


# -- the throttle --------------------------------------------------------------------------


def test_a_strangers_wrong_passwords_do_not_lock_a_colleague_out(bob: Any) -> None:
    """The reported defect: five bad anonymous passwords locked bob out for 15 minutes."""
    stranger = Browser()
    for _ in range(5):
        post_password(stranger, "bob", "wrong password!", ip=STRANGER)
    colleague = Browser()
    assert post_password(colleague, "bob", PASSWORD, ip=COLLEAGUE).status_code == 302
    assert signed_in_as(colleague) == "bob"


def test_behind_the_same_router_a_known_browser_is_not_slowed_by_a_stranger(bob: Any) -> None:
    usual_desk = Browser()
    assert post_password(usual_desk, "bob", PASSWORD, ip=STRANGER).status_code == 302
    usual_desk.post("/logout/")
    stranger = Browser()
    for _ in range(8):
        post_password(stranger, "bob", "wrong password!", ip=STRANGER)
    assert "try again in" in post_password(stranger, "bob", PASSWORD, ip=STRANGER).content.decode()
    assert post_password(usual_desk, "bob", PASSWORD, ip=STRANGER).status_code == 302
    assert signed_in_as(usual_desk) == "bob"


def test_failures_slow_the_attacker_with_growing_delays_even_with_the_right_password(
    bob: Any,
) -> None:
    attacker = Browser()
    for _ in range(3):
        assert post_password(attacker, "bob", "wrong password!", ip=STRANGER).status_code == 200
    refused = post_password(attacker, "bob", PASSWORD, ip=STRANGER)
    assert refused.status_code == 200 and signed_in_as(attacker) is None
    assert (
        "too many failed sign-ins for &#x27;bob&#x27; from this address; try again in 2 s "
        "(your account is not locked)"
    ) in refused.content.decode()
    assert LoginFailure.objects.count() == 3  # an attempt made while waiting is not counted
    # After the wait, one more failure doubles it.
    LoginFailure.objects.update(at=timezone.now() - dt.timedelta(seconds=3))
    post_password(attacker, "bob", "wrong password!", ip=STRANGER)
    assert throttle.wait_for(None, "bob") is None  # another address is not slowed
    wait = throttle.wait_for(
        type("R", (), {"META": {"REMOTE_ADDR": STRANGER}, "COOKIES": {}})(), "bob"
    )
    assert wait is not None and wait.seconds == 4


def test_one_address_spraying_many_names_is_slowed_for_all_of_them(settings, bob: Any) -> None:
    settings.CRYODERM_SIGNIN_ADDRESS_FREE_FAILURES = 5
    sprayer = Browser()
    for name in ("ann", "ben", "cat", "dan", "eve"):
        post_password(sprayer, name, "winter is here 26", ip=STRANGER)
    assert (
        "and other names from this address"
        in post_password(sprayer, "bob", PASSWORD, ip=STRANGER).content.decode()
    )
    assert post_password(Browser(), "bob", PASSWORD, ip=COLLEAGUE).status_code == 302


def test_delays_are_capped_and_forgotten_after_the_window(settings, bob: Any) -> None:
    now = timezone.now()
    for _ in range(30):
        throttle.record_failure(None, "bob", now=now)
    wait = throttle.wait_for(None, "bob", now=now)
    assert wait is not None and wait.seconds == settings.CRYODERM_SIGNIN_MAX_DELAY_S
    later = now + dt.timedelta(seconds=settings.CRYODERM_SIGNIN_WINDOW_S + 1)
    assert throttle.wait_for(None, "bob", now=later) is None
    throttle.record_failure(None, "bob", now=later)
    assert LoginFailure.objects.count() == 1  # the forgotten ones are gone


def test_an_administrator_can_forget_the_failures_of_a_name(bob: Any, capsys) -> None:
    for _ in range(3):
        assert authenticate(None, username="bob", password="wrong password!") is None
    assert authenticate(None, username="bob", password=PASSWORD) is None
    call_command("unlock_account", "bob")
    assert "bob: 3 failed sign-in(s) forgotten" in capsys.readouterr().out
    assert authenticate(None, username="bob", password=PASSWORD) == bob


def test_a_forged_known_browser_cookie_is_ignored(bob: Any) -> None:
    attacker = Browser()
    attacker.cookies[throttle.KNOWN_COOKIE] = '{"bob": "0123456789abcdef"}'
    for _ in range(3):
        post_password(attacker, "bob", "wrong password!", ip=STRANGER)
    assert "try again in" in post_password(attacker, "bob", PASSWORD, ip=STRANGER).content.decode()


# -- the second factor ---------------------------------------------------------------------


def test_a_practitioner_sets_up_an_authenticator_at_first_sign_in(alice: Any) -> None:
    browser = Browser()
    response = post_password(browser, "alice", PASSWORD)
    assert response["Location"] == "/login/authenticator/"
    assert signed_in_as(browser) is None  # nothing is signed in between the steps
    page = browser.get("/login/authenticator/")
    assert 'src="data:image/svg+xml' in page.content.decode()
    secret = browser.session["cryoderm_mfa_enrol_secret"]
    wrong = browser.post("/login/authenticator/", {"code": "000000"})
    assert "not the current code" in wrong.content.decode() and not mfa.enrolled(alice)
    done = browser.post("/login/authenticator/", {"code": pyotp.TOTP(secret).now()})
    assert done["Location"] == "/account/recovery-codes/"
    assert signed_in_as(browser) == "alice"
    codes_page = browser.get("/account/recovery-codes/").content.decode()
    assert codes_page.count("<li><code>") == 10
    assert "not shown again" in codes_page
    assert "<li><code>" not in browser.get("/account/recovery-codes/").content.decode()
    stored = TotpDevice.objects.get(user=alice).secret_encrypted
    assert secret not in stored
    assert RecoveryCode.objects.filter(user=alice).count() == 10
    actions = list(AuditEntry.objects.values_list("action", flat=True))
    assert "mfa.enrol" in actions and actions[-1] == "auth.sign_in"


def test_an_enrolled_user_gives_a_code_after_the_password(alice: Any) -> None:
    personas.enrol_authenticator(alice)
    browser = Browser()
    assert post_password(browser, "alice", PASSWORD)["Location"] == "/login/code/"
    assert signed_in_as(browser) is None
    for page in ("/clients/", "/api/clients"):
        assert browser.get(page).status_code in (302, 401)
    code = personas.one_time_code(alice)
    assert browser.post("/login/code/", {"code": code})["Location"] == "/"
    assert signed_in_as(browser) == "alice"
    entry = AuditEntry.objects.filter(action="auth.sign_in").get()
    assert '"factor":"totp"' in entry.detail


def test_a_used_code_cannot_be_replayed(alice: Any) -> None:
    personas.enrol_authenticator(alice)
    code = personas.one_time_code(alice)
    first = Browser()
    post_password(first, "alice", PASSWORD)
    assert first.post("/login/code/", {"code": code}).status_code == 302
    second = Browser()
    post_password(second, "alice", PASSWORD)
    replay = second.post("/login/code/", {"code": code})
    assert replay.status_code == 200 and "already used" in replay.content.decode()
    assert signed_in_as(second) is None


def test_the_second_step_cannot_be_reached_without_the_password(alice: Any) -> None:
    personas.enrol_authenticator(alice)
    browser = Browser()
    response = browser.post("/login/code/", {"code": personas.one_time_code(alice)})
    assert response["Location"] == "/login/"
    assert signed_in_as(browser) is None


def test_wrong_codes_are_throttled_like_wrong_passwords(alice: Any) -> None:
    personas.enrol_authenticator(alice)
    browser = Browser()
    post_password(browser, "alice", PASSWORD)
    for _ in range(3):
        assert "not right" in browser.post("/login/code/", {"code": "123456"}).content.decode()
    refused = browser.post("/login/code/", {"code": personas.one_time_code(alice)})
    assert "try again in 2 s" in refused.content.decode() and signed_in_as(browser) is None


def test_five_wrong_codes_end_the_pending_sign_in_and_count_as_failures(
    settings, alice: Any
) -> None:
    settings.CRYODERM_SIGNIN_FREE_FAILURES = 10  # the tries, not the throttle, end it here
    personas.enrol_authenticator(alice)
    browser = Browser()
    post_password(browser, "alice", PASSWORD)
    for _ in range(4):
        assert browser.post("/login/code/", {"code": "123456"}).status_code == 200
    assert browser.post("/login/code/", {"code": "123456"})["Location"] == "/login/"
    assert (
        browser.post("/login/code/", {"code": personas.one_time_code(alice)})["Location"]
        == "/login/"
    )
    assert LoginFailure.objects.filter(username="alice").count() == 5


def test_a_pending_sign_in_expires(alice: Any) -> None:
    personas.enrol_authenticator(alice)
    browser = Browser()
    post_password(browser, "alice", PASSWORD)
    session = browser.session
    session["cryoderm_signin_pending"]["at"] = time.time() - 301
    session.save()
    assert (
        browser.post("/login/code/", {"code": personas.one_time_code(alice)})["Location"]
        == "/login/"
    )


def test_a_recovery_code_works_once(alice: Any) -> None:
    personas.enrol_authenticator(alice)
    codes = mfa.renew_recovery_codes(alice, personas.one_time_code(alice))
    browser = Browser()
    post_password(browser, "alice", PASSWORD)
    response = browser.post("/login/code/", {"code": codes[0].upper().replace("-", " ")})
    assert response.status_code == 302 and signed_in_as(browser) == "alice"
    again = Browser()
    post_password(again, "alice", PASSWORD)
    assert again.post("/login/code/", {"code": codes[0]}).status_code == 200
    assert mfa.recovery_codes_left(alice) == 9


def test_front_desk_signs_in_with_a_password_and_may_add_an_authenticator(bob: Any) -> None:
    browser = Browser()
    assert post_password(browser, "bob", PASSWORD)["Location"] == "/"
    page = browser.get("/account/security/").content.decode()
    assert "password only" in page and "Set up an authenticator" in page
    browser.get("/login/authenticator/")
    secret = browser.session["cryoderm_mfa_enrol_secret"]
    browser.post("/login/authenticator/", {"code": pyotp.TOTP(secret).now()})
    assert mfa.enrolled(bob)
    browser.post("/logout/")
    assert post_password(browser, "bob", PASSWORD)["Location"] == "/login/code/"


def test_a_session_cannot_replace_an_existing_authenticator(alice: Any) -> None:
    personas.enrol_authenticator(alice)
    browser = Browser()
    browser.force_login(alice)
    assert browser.get("/login/authenticator/")["Location"] == "/account/security/"
    assert "cryoderm_mfa_enrol_secret" not in browser.session


def test_an_administrator_resets_a_lost_authenticator(alice: Any, capsys) -> None:
    personas.enrol_authenticator(alice)
    call_command("reset_mfa", "alice")
    assert "authenticator removed" in capsys.readouterr().out
    assert not mfa.enrolled(alice)
    assert post_password(Browser(), "alice", PASSWORD)["Location"] == "/login/authenticator/"
    assert AuditEntry.objects.filter(action="mfa.reset").count() == 1


def test_a_one_time_code_confirms_a_colleague_but_signs_nobody_in(alice: Any) -> None:
    personas.enrol_authenticator(alice)
    user = authenticate(None, username="alice", one_time_code=personas.one_time_code(alice))
    assert user == alice
    assert authenticate(None, username="alice", one_time_code="000000") is None
    assert LoginFailure.objects.filter(username="alice").count() == 1
    browser = Browser()
    browser.force_login(alice, backend="cryoderm.clinic.accounts.backends.OneTimeCodeBackend")
    assert signed_in_as(browser) is None
