"""Logging in with the mailed password, choosing a new one, limits, expiry, logging out, "Restablecer contraseña"."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update
from starlette.testclient import TestClient

from mailbot.demo import temporary_password
from mailbot.desk.models import Contact, MailKind, Outbox, OutboxStatus, PortalSession, utcnow
from mailbot.desk.password_hashes import ARGON2
from mailbot.portal.app import create_app
from mailbot.servers.dovecot import PrivateDovecot
from mailbot.servers.smtp_capture import SmtpCapture
from tests.portal.conftest import BASE, CUSTOMER, NEW_PASSWORD, STRANGER, Portal, portal_for

WRONG = "El usuario o la contraseña no son correctos."


def test_a_page_asks_for_a_login_and_comes_back_after_it(portal: Portal) -> None:
    asked = portal.get("/cases/CS0000001")
    assert asked.status_code == 303 and asked.headers["location"] == f"{BASE}/login?next=%2Fcsm%2Fcases%2FCS0000001"

    portal.logged_in(CUSTOMER)
    portal.post("/logout", {})
    back = portal.post("/login", {"username": CUSTOMER, "password": NEW_PASSWORD, "next": f"{BASE}/cases/CS0000001"})

    assert back.headers["location"] == f"{BASE}/cases/CS0000001"


@pytest.mark.parametrize("elsewhere", ["https://evil.example.com/", "//evil.example.com/x", "/other", "/csm\\..\\x",
                                       "javascript:alert(1)"])
def test_after_login_the_browser_never_goes_to_another_site(portal: Portal, elsewhere: str) -> None:
    portal.logged_in(CUSTOMER)
    portal.post("/logout", {})

    back = portal.post("/login", {"username": CUSTOMER, "password": NEW_PASSWORD, "next": elsewhere})

    assert back.headers["location"] == f"{BASE}/cases"


def test_the_temporary_password_must_be_changed_first_then_no_longer_works(any_db_portal: Portal) -> None:
    portal = any_db_portal
    temporary = portal.passwords[CUSTOMER]
    assert portal.login(CUSTOMER).headers["location"] == f"{BASE}/password"
    assert portal.get("/cases").headers["location"] == f"{BASE}/password", "nothing else before a new password"
    assert "elija una contraseña nueva" in portal.get("/password").text

    changed = portal.post("/password", {"new": NEW_PASSWORD, "confirm": NEW_PASSWORD})

    assert changed.headers["location"] == f"{BASE}/cases?notice=password_changed"
    assert "Su contraseña fue cambiada." in portal.client.get(changed.headers["location"]).text
    portal.post("/logout", {})
    assert WRONG in portal.login(CUSTOMER, temporary).text
    assert portal.login(CUSTOMER, NEW_PASSWORD).headers["location"] == f"{BASE}/cases"
    with portal.desk.session() as session:
        contact = session.scalars(select(Contact).where(Contact.email == CUSTOMER)).one()
        assert not contact.must_change_password and contact.password_hash and NEW_PASSWORD not in contact.password_hash
        assert contact.password_hash.startswith("$argon2id$"), "a chosen password keeps argon2id (docs/passwords.md)"


@pytest.mark.parametrize(("new", "confirm", "message"), [
    pytest.param("corto", "corto", "debe tener al menos 12 caracteres", id="short"),
    pytest.param("contraseña2024", "contraseña2024", "demasiado común", id="common"),
    pytest.param(None, None, "debe ser distinta de la actual", id="the temporary one"),
    pytest.param(NEW_PASSWORD, NEW_PASSWORD + "x", "no coinciden", id="mismatch"),
])
def test_a_new_password_that_breaks_a_rule_is_refused_with_the_reason(portal: Portal, new: str | None,
                                                                       confirm: str | None, message: str) -> None:
    portal.login(CUSTOMER)
    temporary = portal.passwords[CUSTOMER]

    refused = portal.post("/password", {"new": new or temporary, "confirm": confirm or temporary})

    assert refused.status_code == 400 and message in refused.text
    assert portal.get("/cases").headers["location"] == f"{BASE}/password"


def test_a_voluntary_change_asks_for_the_current_password(portal: Portal) -> None:
    portal.logged_in(CUSTOMER)
    other = "otra frase bastante larga"

    refused = portal.post("/password", {"current": "no es esta", "new": other, "confirm": other})
    changed = portal.post("/password", {"current": NEW_PASSWORD, "new": other, "confirm": other})

    assert refused.status_code == 400 and "La contraseña actual no es correcta." in refused.text
    assert changed.status_code == 303


def test_a_new_password_ends_every_other_session(portal: Portal) -> None:
    portal.logged_in(CUSTOMER)
    other_browser = Portal(portal.desk, TestClient(portal.client.app), dict(portal.passwords))
    assert other_browser.login(CUSTOMER).headers["location"] == f"{BASE}/cases"
    other = "otra frase bastante larga"

    portal.post("/password", {"current": NEW_PASSWORD, "new": other, "confirm": other})

    assert portal.get("/cases").status_code == 200
    assert other_browser.get("/cases").headers["location"].startswith(f"{BASE}/login")


def test_a_wrong_password_and_an_unknown_address_get_the_same_answer(portal: Portal) -> None:
    wrong = portal.login(CUSTOMER, "no es la contraseña")
    unknown = portal.login("nadie@example.com", "no es la contraseña")

    assert (wrong.status_code, unknown.status_code) == (400, 400)
    assert WRONG in wrong.text and WRONG in unknown.text
    assert f'value="{CUSTOMER}"' in wrong.text, "the address typed stays in the form"


def test_wrong_passwords_lock_the_address_for_the_window_even_for_the_right_one(portal: Portal) -> None:
    for _ in range(portal.config.portal.login_failures_per_account):
        assert portal.login(CUSTOMER, "no es la contraseña").status_code == 400

    locked = portal.login(CUSTOMER)

    assert locked.status_code == 429 and "Demasiados intentos fallidos. Espere 15 minutos" in locked.text
    assert portal.login(STRANGER).headers["location"] == f"{BASE}/password", "another address is not locked"


def test_a_stranger_locking_the_address_cannot_lock_the_customer_out_of_a_reset(portal: Portal) -> None:
    """Five wrong passwords lock the chosen password for the window, but the random one "Restablecer contraseña"
    mails still opens the door: failures a stranger makes on purpose lock nobody out."""
    portal.logged_in(CUSTOMER)
    portal.post("/logout", {})
    for _ in range(portal.config.portal.login_failures_per_account):
        portal.login(CUSTOMER, "adivinando")
    assert portal.login(CUSTOMER, NEW_PASSWORD).status_code == 429
    portal.desk.sink.clear()
    portal.post("/reset", {"username": CUSTOMER})
    portal.desk.run_once()

    (mail,) = portal.desk.sent_to(CUSTOMER)
    password = temporary_password(mail.message)
    assert password is not None
    assert portal.login(CUSTOMER, password).headers["location"] == f"{BASE}/password"


def test_wrong_passwords_from_one_client_address_lock_that_client(tmp_path: Path, dovecot: PrivateDovecot,
                                                                  sink: SmtpCapture) -> None:
    for portal in portal_for(tmp_path, f"sqlite:///{tmp_path / 'm.db'}", dovecot, sink,
                             "login_failures_per_client = 3\n"):
        for address in ("a@example.com", "b@example.com", "c@example.com"):
            portal.login(address, "adivinando")

        assert portal.login(CUSTOMER).status_code == 429


def test_a_successful_login_forgives_earlier_mistakes(portal: Portal) -> None:
    for _ in range(portal.config.portal.login_failures_per_account - 1):
        portal.login(CUSTOMER, "no es la contraseña")
    portal.logged_in(CUSTOMER)
    portal.post("/logout", {})

    portal.login(CUSTOMER, "otra vez mal")

    assert portal.login(CUSTOMER).status_code == 303


def test_a_temporary_password_kept_as_an_argon2_hash_before_the_keyed_one_still_logs_in(portal: Portal) -> None:
    temporary = portal.passwords[CUSTOMER]
    with portal.desk.session() as session:
        session.execute(update(Contact).where(Contact.email == CUSTOMER).values(password_hash=ARGON2.hash(temporary)))
        session.commit()

    assert WRONG in portal.login(CUSTOMER, temporary + "x").text
    assert portal.login(CUSTOMER, temporary).headers["location"] == f"{BASE}/password"


def test_a_temporary_password_expires(portal: Portal) -> None:
    days = portal.config.portal.temporary_password_days
    with portal.desk.session() as session:
        session.execute(update(Contact).where(Contact.email == CUSTOMER)
                        .values(credentials_sent_at=utcnow() - timedelta(days=days, minutes=1)))
        session.commit()

    expired = portal.login(CUSTOMER)

    assert expired.status_code == 400 and "Su contraseña temporal venció" in expired.text
    assert "portal_session" not in expired.headers.get("set-cookie", "")


def test_the_session_cookie_is_httponly_lax_on_the_portal_path_and_remembered_only_when_asked(portal: Portal) -> None:
    session_cookie = portal.login(CUSTOMER).headers["set-cookie"]
    portal.client.cookies.clear()
    remembered = portal.login(CUSTOMER, remember=True).headers["set-cookie"]

    assert "HttpOnly" in session_cookie and "SameSite=lax" in session_cookie and f"Path={BASE}" in session_cookie
    assert "Max-Age" not in session_cookie and "Secure" not in session_cookie  # served over http here
    assert f"Max-Age={30 * 86400}" in remembered
    with portal.desk.session() as session:
        logins = session.scalars(select(PortalSession).order_by(PortalSession.created_at)).all()
        assert [login.remember for login in logins] == [False, True]
        assert logins[0].expires_at - logins[0].created_at == timedelta(hours=12)
        token = remembered.split(";")[0].split("=", 1)[1]
        assert all(token not in login.id for login in logins), "only the token's hash is stored"


def test_over_https_the_cookies_are_secure_and_hsts_is_sent(tmp_path: Path, dovecot: PrivateDovecot,
                                                            sink: SmtpCapture) -> None:
    for portal in portal_for(tmp_path, f"sqlite:///{tmp_path / 'm.db'}", dovecot, sink):
        config = portal.config
        secure = replace(config, portal=replace(config.portal, base_url="https://testserver/csm"))
        with TestClient(create_app(secure), base_url="https://testserver") as client:
            page = client.get(f"{BASE}/login")

        assert "Secure" in page.headers["set-cookie"]
        assert page.headers["strict-transport-security"] == "max-age=31536000"


def test_logging_out_ends_the_session_and_forgets_the_cookie(portal: Portal) -> None:
    portal.logged_in(CUSTOMER)

    out = portal.post("/logout", {})

    assert out.headers["location"] == f"{BASE}/login?notice=logged_out"
    assert 'portal_session=""' in out.headers["set-cookie"] and "Max-Age=0" in out.headers["set-cookie"]
    assert portal.get("/cases").status_code == 303
    with portal.desk.session() as session:
        assert session.scalars(select(PortalSession)).all() == []


@pytest.mark.parametrize("path", ["/login", "/logout", "/password", "/reset"])
def test_every_form_needs_its_csrf_token(portal: Portal, path: str) -> None:
    portal.login(CUSTOMER)

    missing = portal.post(path, {"username": CUSTOMER, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}, token="")
    forged = portal.post(path, {"username": CUSTOMER}, token="0" * 64)

    assert (missing.status_code, forged.status_code) == (403, 403)
    assert "La página caducó" in missing.text


def test_a_token_from_before_the_login_is_worthless_after_it(portal: Portal) -> None:
    before = portal.token()
    portal.login(CUSTOMER)

    assert portal.post("/password", {"new": NEW_PASSWORD, "confirm": NEW_PASSWORD}, token=before).status_code == 403


def test_a_password_reset_mails_a_temporary_password_that_works_beside_the_old_one_until_used(
    any_db_portal: Portal,
) -> None:
    """A stranger who asks for a reset must not lock the customer out: the chosen password keeps working until the
    mailed one is used (then the mailed one rules, and must be changed)."""
    portal = any_db_portal
    portal.logged_in(CUSTOMER)
    portal.post("/logout", {})
    portal.desk.sink.clear()
    assert "sigue sirviendo hasta que entre con la temporal" in portal.get("/reset").text  # the page says so

    asked = portal.post("/reset", {"username": CUSTOMER.upper()})
    again = portal.post("/reset", {"username": CUSTOMER})

    assert asked.status_code == again.status_code == 200
    assert "Si esa dirección tiene un usuario en el portal" in asked.text
    with portal.desk.session() as session:
        row = session.scalars(select(Outbox).where(Outbox.status == OutboxStatus.PENDING)).one()  # not two
        assert (row.kind, row.case_id, row.recipient, row.in_reply_to) == (MailKind.PASSWORD_RESET, None, CUSTOMER, None)
        assert row.context["username"] == CUSTOMER and "case" not in row.context
    portal.desk.run_once()
    (mail,) = portal.desk.sent_to(CUSTOMER)
    password = temporary_password(mail.message)
    assert password is not None
    assert portal.login(CUSTOMER, NEW_PASSWORD).status_code == 303, "the chosen password still works"
    portal.post("/logout", {})
    assert portal.login(CUSTOMER, password).headers["location"] == f"{BASE}/password"
    portal.post("/logout", {})
    assert portal.login(CUSTOMER, NEW_PASSWORD).status_code == 400, "once the reset one is used, it rules"


def test_a_reset_for_an_unknown_address_says_the_same_and_mails_nothing(portal: Portal) -> None:
    known = portal.post("/reset", {"username": CUSTOMER})
    unknown = portal.post("/reset", {"username": "nadie@example.com"})

    assert known.status_code == unknown.status_code == 200
    assert _main(known.text) == _main(unknown.text)
    with portal.desk.session() as session:
        assert session.scalars(select(Outbox.recipient).where(Outbox.status == OutboxStatus.PENDING)).all() == [CUSTOMER]


def test_resets_are_limited_per_address_silently_and_per_client_openly(portal: Portal) -> None:
    limit = portal.config.portal.resets_per_hour
    for _ in range(limit + 1):
        assert portal.post("/reset", {"username": STRANGER}).status_code == 200
    for number in range(limit * 4 - limit - 1):
        assert portal.post("/reset", {"username": f"otro{number}@example.com"}).status_code == 200

    refused = portal.post("/reset", {"username": CUSTOMER})

    assert refused.status_code == 429 and "Demasiadas solicitudes" in refused.text
    with portal.desk.session() as session:
        assert session.scalars(select(Outbox.recipient).where(Outbox.status == OutboxStatus.PENDING)).all() == [STRANGER]


def _main(html: str) -> str:
    """The page's main content, without the form's per-visitor token."""
    return html.split('<main id="main" tabindex="-1">')[1].split("</main>")[0]


def test_the_browsers_favicon_request_does_not_replace_the_cookie_the_login_form_was_made_for(portal: Portal) -> None:
    """This used to answer 403 to every first login in Chromium: the 404 for /favicon.ico, outside the portal's
    path and so without its cookies, set a new CSRF nonce on the portal's path."""
    token = portal.token()

    favicon = portal.client.get("/favicon.ico")

    assert favicon.status_code == 404 and "set-cookie" not in favicon.headers
    assert portal.post("/login", {"username": CUSTOMER, "password": portal.passwords[CUSTOMER]},
                       token=token).status_code == 303


def test_logging_in_again_replaces_the_browsers_earlier_session(portal: Portal) -> None:
    portal.login(CUSTOMER)
    portal.login(CUSTOMER)

    with portal.desk.session() as session:
        assert len(session.scalars(select(PortalSession)).all()) == 1
