"""The satisfaction survey's links (issue 13): a case closed for silence mails one portal link per rating; a real
browser (Debian's Chromium) opens one and confirms it; plain HTTP plays the mail scanner and the forger.

The portal runs under uvicorn on a free loopback port, in front of a desk whose pass closed the case with a moved
clock and whose closing mail went through the real sender to the SMTP sink: the links are the ones the mail carried.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest
import uvicorn
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from mailbot.desk.models import State
from mailbot.portal.app import create_app
from mailbot.servers.ports import free_port
from mailbot.servers.smtp_capture import SmtpCapture
from tests.escalation_desk import EscalationDesk, bogota, escalation_desk
from tests.portal.test_browser import chromium

pytestmark = pytest.mark.integration

_LINK = re.compile(r"^[1-5]: (\S+/survey/\S+)$", re.MULTILINE)
_CSRF = re.compile(r'name="csrf" value="([0-9a-f]{64})"')


@dataclass
class Survey:
    """The desk, the case its pass closed, and the closing mail's five links (rating 1 first)."""

    desk: EscalationDesk
    case_id: int
    links: list[str]

    def rating(self) -> int | None:
        return self.desk.case(self.case_id).rating


@contextmanager
def portal_survey(tmp_path: Path, db_url: str, sink: SmtpCapture) -> Iterator[Survey]:
    port = free_port()
    extra = f'\n[portal]\nlisten = "127.0.0.1:{port}"\nbase_url = "http://127.0.0.1:{port}/csm"\n'
    with escalation_desk(tmp_path, db_url, sink, extra) as desk:
        case_id = desk.open_case(bogota(23, 9))
        desk.agent_answers(case_id, bogota(23, 10))
        desk.set_state(case_id, State.RESOLVED, bogota(23, 10))
        assert desk.pass_at(bogota(28, 10)).closed == 1
        desk.send()
        [closing] = desk.sink.captured
        links = _LINK.findall(closing.message.get_body(("plain",)).get_content())  # type: ignore[union-attr]
        assert len(links) == 5 and all(link.startswith(f"http://127.0.0.1:{port}/csm/survey/") for link in links)
        server = uvicorn.Server(uvicorn.Config(create_app(desk.config), host="127.0.0.1", port=port,
                                               log_config=None, lifespan="on"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.started, "the portal did not start"
        try:
            yield Survey(desk, case_id, links)
        finally:
            server.should_exit = True
            thread.join(20)


@pytest.fixture
def survey(tmp_path: Path, sink: SmtpCapture) -> Iterator[Survey]:
    """On SQLite; the test whose write depends on the database takes both."""
    with portal_survey(tmp_path, f"sqlite:///{tmp_path / 'mailbot.db'}", sink) as made:
        yield made


def test_a_click_confirmed_in_the_browser_is_the_cases_rating_and_the_first_answer_stands(
        survey: Survey, tmp_path: Path) -> None:
    browser = chromium()
    wait = WebDriverWait(browser, 20)
    try:
        browser.get(survey.links[3])
        wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "form.survey button[type=submit]"))
        assert "4 de 5" in browser.find_element(By.CSS_SELECTOR, "form.survey .rating").text
        assert browser.save_screenshot(str(tmp_path / "survey.png"))
        assert survey.rating() is None  # opening the link recorded nothing

        browser.find_element(By.CSS_SELECTOR, "form.survey button[type=submit]").click()
        wait.until(lambda b: "Gracias" in b.page_source)
        assert "La calificación registrada para el caso CS0000001 es 4 de 5." in browser.page_source
        case = survey.desk.case(survey.case_id)
        assert (case.rating, case.rated_at is not None) == (4, True)

        browser.get(survey.links[0])  # a second click, on another rating
        wait.until(lambda b: "Gracias" in b.page_source)
        assert not browser.find_elements(By.CSS_SELECTOR, "form.survey")
        assert "es 4 de 5." in browser.page_source and survey.rating() == 4
    finally:
        browser.quit()


def test_opening_the_links_as_a_mail_scanner_does_records_nothing(survey: Survey) -> None:
    with httpx2.Client() as client:
        for link in survey.links * 2:
            page = client.get(link)
            assert page.status_code == 200 and 'class="narrow survey"' in page.text
    assert survey.rating() is None


def _altered(link: str) -> list[str]:
    """The link with its rating changed, its MAC changed, another case's number, and malformed."""
    head, token = link.rsplit("/", 1)
    number, rating, mac = token.split(".")
    other = "A" if mac[0] != "A" else "B"
    return [f"{head}/{number}.{1 if rating != '1' else 2}.{mac}", f"{head}/{number}.{rating}.{other}{mac[1:]}",
            f"{head}/CS0000002.{rating}.{mac}", f"{head}/{number}.{rating}", f"{head}/{number}.9.{mac}"]


def test_a_forged_or_altered_token_gets_the_400_page_and_records_nothing(survey: Survey) -> None:
    with httpx2.Client() as client:
        genuine = client.get(survey.links[4])  # a real page: this client's CSRF cookie and token
        found = _CSRF.search(genuine.text)
        assert found is not None
        for link in _altered(survey.links[4]):
            shown = client.get(link)
            assert shown.status_code == 400 and "La solicitud no es válida." in shown.text, link
            posted = client.post(link, data={"csrf": found.group(1)})
            assert posted.status_code == 400, link
        without_csrf = httpx2.post(survey.links[4], data={})
        assert without_csrf.status_code == 403
    assert survey.rating() is None


def test_a_confirmation_over_http_records_once(tmp_path: Path, db_url: str, sink: SmtpCapture) -> None:
    with portal_survey(tmp_path, db_url, sink) as survey, httpx2.Client() as client:
        found = _CSRF.search(client.get(survey.links[1]).text)
        assert found is not None
        for link in (survey.links[1], survey.links[4]):
            posted = client.post(link, data={"csrf": found.group(1)})
            assert posted.status_code == 303 and posted.headers["location"].endswith(link.split("/csm", 1)[1])
        assert survey.rating() == 2


def test_a_case_reopened_before_the_click_takes_no_rating(survey: Survey) -> None:
    survey.desk.set_state(survey.case_id, State.IN_PROGRESS, bogota(28, 11))
    with httpx2.Client() as client:
        shown = client.get(survey.links[2])
        assert "La encuesta del caso CS0000001 ya no está abierta." in shown.text
        found = _CSRF.search(client.get(survey.links[2].split("/survey/")[0] + "/login").text)  # a form's token
        assert found is not None
        assert client.post(survey.links[2], data={"csrf": found.group(1)}).status_code == 303
    assert survey.rating() is None
