"""A real browser on the running demo desk: Debian's Chromium, driven by Selenium through Debian's chromedriver.

`./run demo` runs in a process of its own (private Dovecot, SMTP capture, the daemon and `mailbot portal` on one
SQLite database). The customer logs in with the password their credentials mail carried, chooses a new one, sees
their cases, opens one, replies, and opens a new request whose acknowledgement the daemon then mails. A screenshot
of every page is saved under the test's temporary directory. Nothing is downloaded: Selenium is given the driver.
"""

from __future__ import annotations

import mailbox
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait
from sqlalchemy import select

from mailbot import store
from mailbot.config import load_config
from mailbot.demo import temporary_password
from mailbot.desk.models import Case, Entry, EntryKind

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CUSTOMER = "marta.ruiz@transportes.example.org"  # the demo's first customer
NEW_PASSWORD = "mi frase de acceso al portal"
READY = "Ctrl-C stops everything."
REPLY = "Probé en otro equipo y el token tampoco aparece."


@dataclass
class Demo:
    """The running demo: its folder, its portal's address, what it printed."""

    root: Path
    process: subprocess.Popen[str]
    portal_url: str = ""
    lines: list[str] = field(default_factory=list)

    def sent(self) -> list[EmailMessage]:
        box = mailbox.mbox(self.root / "sent.mbox")
        try:
            return [message_from_bytes(message.as_bytes(), policy=policy.default) for message in box]  # type: ignore[misc]
        finally:
            box.close()

    def wait_for_mail(self, subject_start: str, to: str, timeout: float = 30) -> EmailMessage:
        """The first mail to `to` whose subject starts so (the agents' notice of the case may come before it: the
        outbox sends over several connections at once)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [m for m in self.sent() if str(m["Subject"]).startswith(subject_start) and to in str(m["To"])]
            if found:
                return found[0]
            time.sleep(0.2)
        raise AssertionError(f"no mail {subject_start!r} to {to} within {timeout} s; the demo said:\n" + "".join(self.lines))

    def entries(self, number: str) -> list[Entry]:
        config = load_config(self.root / "mailbot.toml", secrets=False)
        engine = store.make_engine(config.database_url, writer=False)
        try:
            with store.session_factory(engine)() as session:
                case = session.scalars(select(Case).where(Case.number == number)).one()
                return list(case.entries)
        finally:
            engine.dispose()


@dataclass
class Journey:
    """What the browser did, for the tests to check one promise each."""

    demo: Demo
    screenshots: list[Path]
    mails_before_reply: int
    mails_after_reply: int
    ack: EmailMessage


def start_demo(root: Path) -> Demo:
    process = subprocess.Popen([sys.executable, "-m", "mailbot.demo", "--dir", str(root)], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    demo = Demo(root, process)
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()  # type: ignore[union-attr]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            if process.poll() is not None:
                break
            continue
        demo.lines.append(line)
        if line.startswith("Customer portal: "):
            demo.portal_url = line.split(": ", 1)[1].strip()
        if READY in line:
            threading.Thread(target=lambda: [demo.lines.append(lines.get()) for _ in iter(int, 1)],
                             daemon=True).start()
            return demo
    process.kill()
    raise AssertionError("the demo did not start:\n" + "".join(demo.lines))


def stop_demo(demo: Demo) -> None:
    """Ctrl-C, as a person stops it: the daemon stops, then the portal and the servers."""
    demo.process.send_signal(signal.SIGINT)
    try:
        demo.process.wait(60)
    except subprocess.TimeoutExpired:
        demo.process.kill()
        raise


def chromium() -> WebDriver:
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail("the browser test needs Debian's chromium and chromium-driver: apt-get install chromium "
                    "chromium-driver (./run tests installs them)")
    options = Options()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,1000",
                     "--lang=es", *(["--no-sandbox"] if os.geteuid() == 0 else [])):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)


@pytest.fixture(scope="module")
def journey(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Journey]:
    out = tmp_path_factory.mktemp("browser")
    demo = start_demo(out / "demo")
    shots: list[Path] = []
    browser = chromium()
    wait = WebDriverWait(browser, 20)

    def shot(name: str) -> None:
        path = out / f"{len(shots) + 1:02d}-{name}.png"
        assert browser.save_screenshot(str(path)), path
        shots.append(path)

    try:
        credentials = next(m for m in demo.sent() if CUSTOMER in str(m["To"]) and temporary_password(m))
        password = temporary_password(credentials)
        assert password is not None and demo.portal_url.rstrip("/") in credentials.get_body(("plain",)).get_content()  # type: ignore[union-attr]

        browser.get(demo.portal_url)
        wait.until(lambda b: "/login" in b.current_url)
        assert browser.find_element(By.CSS_SELECTOR, "label[for=f-remember]").text == "Recordarme"
        assert browser.find_element(By.LINK_TEXT, "Restablecer contraseña")
        shot("login")
        browser.find_element(By.ID, "f-username").send_keys(CUSTOMER)
        browser.find_element(By.ID, "f-password").send_keys(password + Keys.ENTER)  # the keyboard submits

        wait.until(lambda b: b.current_url.endswith("/password"))
        shot("choose-password")
        browser.find_element(By.ID, "f-new").send_keys(NEW_PASSWORD)
        browser.find_element(By.ID, "f-confirm").send_keys(NEW_PASSWORD)
        browser.find_element(By.CSS_SELECTOR, "main button[type=submit]").click()

        wait.until(lambda b: "/cases" in b.current_url)
        assert "Su contraseña fue cambiada." in browser.page_source
        rows = browser.find_elements(By.CSS_SELECTOR, "table.cases tbody tr")
        assert [r.find_element(By.TAG_NAME, "th").text for r in rows] == ["CS0000001", "CS0000003"]  # last updated first
        shot("my-cases")
        browser.set_window_size(390, 844)
        shot("my-cases-phone")
        browser.set_window_size(1280, 1000)

        browser.find_element(By.LINK_TEXT, "CS0000001").click()
        wait.until(lambda b: b.current_url.endswith("/cases/CS0000001"))
        assert "Acuse de recibo de Mesa de ayuda" in browser.page_source
        shot("case")
        mails_before_reply = len(demo.sent())
        browser.find_element(By.ID, "f-text").send_keys(REPLY)
        attachment = out / "captura.txt"
        attachment.write_text("Error: token no encontrado\n")
        browser.find_element(By.ID, "f-files").send_keys(str(attachment))
        browser.find_element(By.CSS_SELECTOR, "section[aria-labelledby=reply] button[type=submit]").click()
        wait.until(lambda b: "notice=reply_sent" in b.current_url)
        assert REPLY in browser.page_source and "captura.txt" in browser.page_source
        shot("replied")

        browser.find_element(By.LINK_TEXT, "Nueva solicitud").click()
        wait.until(lambda b: b.current_url.endswith("/new"))
        Select(browser.find_element(By.ID, "f-queue")).select_by_visible_text("Soporte Clave Segura")
        for field_id, value in (("f-product", "Token criptográfico"), ("f-report", "Incidente"),
                                ("f-contact_hours", "Lunes a viernes, 8:00 a 12:00"),
                                ("f-phone", "+57 601 555 0100"), ("f-subject", "El token no firma en el portal"),
                                ("f-description", "Al firmar un PDF aparece «token no encontrado».")):
            browser.find_element(By.ID, field_id).send_keys(value)
        shot("new-request")
        browser.find_element(By.CSS_SELECTOR, "form.request button[type=submit]").click()
        wait.until(lambda b: "notice=request_sent" in b.current_url)
        assert "Registramos su solicitud como el caso CS0000006" in browser.page_source
        shot("request-sent")

        ack = demo.wait_for_mail("[CS0000006]", to=CUSTOMER)
        mails_after_reply = len(demo.sent())
        browser.find_element(By.CSS_SELECTOR, "header.site button.link").click()  # Cerrar sesión
        wait.until(lambda b: "notice=logged_out" in b.current_url)
        yield Journey(demo, shots, mails_before_reply, mails_after_reply, ack)
    finally:
        browser.quit()
        stop_demo(demo)


def test_every_page_was_photographed(journey: Journey) -> None:
    assert [path.stem.split("-", 1)[1] for path in journey.screenshots] == [
        "login", "choose-password", "my-cases", "my-cases-phone", "case", "replied", "new-request", "request-sent"]
    assert all(path.stat().st_size > 10_000 for path in journey.screenshots)


def test_the_reply_reached_the_case_with_its_attachment(journey: Journey) -> None:
    reply = journey.demo.entries("CS0000001")[-1]

    assert (reply.kind, reply.author, reply.text.strip()) == (EntryKind.CUSTOMER, CUSTOMER, REPLY)
    assert [a.filename for a in reply.attachments] == ["captura.txt"]


def test_the_new_request_was_acknowledged_by_mail(journey: Journey) -> None:
    ack = journey.ack

    assert str(ack["Subject"]) == "[CS0000006] El token no firma en el portal"
    assert CUSTOMER in str(ack["To"]) and "soporte.clavesegura@example.com" in str(ack["From"])
    assert journey.demo.entries("CS0000006")[0].text.startswith("Producto: Token criptográfico")


def test_the_agents_were_told_of_the_reply(journey: Journey) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        told = [m for m in journey.demo.sent()
                if "andres.gomez@example.com" in str(m["To"]) and REPLY.split()[0] in m.get_body(("plain",)).get_content()]
        if told:
            break
        time.sleep(0.2)
    assert told, "the queue's agent got a notification carrying the portal reply"
    assert str(told[0]["Subject"]).startswith("[CS0000001]")
