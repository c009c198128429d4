"""Templates render in a sandbox: HTML escaped, unknown variables refused with file and line, queue overrides,
edits picked up, and the last good version kept (and said so) when an edit breaks."""

from __future__ import annotations

import logging
import os
import shutil
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import escape

from mailbot.config import DEFAULT_TEMPLATES, LANGUAGES
from mailbot.template_samples import MAILS, sample, samples
from mailbot.templates import TemplateError, Templates, one_line

HOSTILE = "Token <script>alert(1)</script> {{ 7*7 }}"
SHIPPED = Templates(DEFAULT_TEMPLATES)  # compiled once for the property tests; nothing edits the shipped files


@pytest.fixture
def shipped() -> Templates:
    return SHIPPED


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A copy of the shipped templates that a test may edit."""
    shutil.copytree(DEFAULT_TEMPLATES, tmp_path / "templates")
    return tmp_path / "templates"


def edit(path: Path, text: str) -> None:
    """Write and move the mtime on, so that Jinja's reload check sees the change within one clock tick."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    stat = path.stat()
    os.utime(path, (stat.st_atime + 5, stat.st_mtime + 5))


def replace_in(path: Path, old: str, new: str) -> None:
    source = path.read_text(encoding="utf-8")
    assert old in source
    edit(path, source.replace(old, new, 1))


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", MAILS)
def test_every_mail_renders_in_both_languages_with_each_sample(shipped: Templates, name: str, language: str) -> None:
    for context in samples(name):
        rendered = shipped.render(name, language, context)
        assert rendered.subject and "\n" not in rendered.subject
        assert rendered.text.endswith("\n") and not rendered.text.startswith("\n")
        assert rendered.html is not None and f'<html lang="{language}">' in rendered.html
        assert f"<title>{escape(rendered.subject)}</title>" in rendered.html
        assert all(f"/{language}/" in file for file in rendered.files), "no mail mixes languages"
        assert rendered.stale is None


@pytest.mark.parametrize("name", MAILS)
def test_customer_text_is_escaped_in_html_and_never_evaluated(shipped: Templates, name: str) -> None:
    context = _hostile(sample(name))
    rendered = shipped.render(name, "es", context)
    assert rendered.html is not None and "<script>" not in rendered.html
    assert "&lt;script&gt;" in rendered.html
    assert "{{ 7*7 }}" in rendered.text, "a value is printed, never evaluated as a template"


@given(st.text(max_size=80))
@settings(max_examples=60, deadline=None)
def test_no_subject_a_customer_writes_can_open_a_tag_or_a_header(subject: str) -> None:
    context = sample("ack")
    context["case"]["subject"] = subject
    rendered = SHIPPED.render("ack", "es", context)
    assert rendered.subject == one_line(f"[CS0000001] {subject}")
    assert rendered.html is not None and str(escape(subject)) in rendered.html


@pytest.mark.parametrize(("text", "line"), [
    ("[CS0000001] Falla el token", "[CS0000001] Falla el token"),
    ("Falla\r\nBcc: jorge.diaz@example.net", "Falla Bcc: jorge.diaz@example.net"),
    ("Falla\n el token\tde firma", "Falla el token de firma"),
    ("Falla\x00 del\x1b[31m token", "Falla del [31m token"),
    ("  Falla  \u2028 token ", "Falla token"),
    ("", ""),
])
def test_one_line_makes_a_header_safe_line(text: str, line: str) -> None:
    assert one_line(text) == line


@given(st.text())
def test_one_line_leaves_no_control_character_and_no_double_space(text: str) -> None:
    line = one_line(text)
    assert not any(unicodedata.category(c) == "Cc" for c in line)
    assert line == line.strip() and "  " not in line and one_line(line) == line


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_acknowledgement_states_the_hours_once(shipped: Templates, language: str) -> None:
    context = sample("ack")
    rendered = shipped.render("ack", language, context)
    hours = context["queue"]["hours_text"]
    assert rendered.text.count(hours) == 1
    assert rendered.html is not None and rendered.html.count(hours) == 1


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_credentials_subject_carries_the_case_number_and_the_password_shows_once(shipped: Templates,
                                                                                      language: str) -> None:
    context = sample("credentials")
    rendered = shipped.render("credentials", language, context)
    assert rendered.subject.startswith("[CS0000001] Mesa de ayuda Ejemplo: ")
    assert f"\n{context['password']}\n" in rendered.text and rendered.text.count(context["password"]) == 1
    assert rendered.html is not None and rendered.html.count(context["password"]) == 1
    assert context["password"] not in rendered.subject


@pytest.mark.parametrize("language", ["es", "en"])
def test_the_closing_mail_links_each_rating_to_the_portal_and_still_takes_a_reply(shipped: Templates,
                                                                                  language: str) -> None:
    context = sample("closing")
    rendered = shipped.render("closing", language, context)
    links = [link["url"] for link in context["closing"]["survey_links"]]
    assert [f"{n}: {url}" in rendered.text for n, url in enumerate(links, 1)] == [True] * 5
    assert rendered.html is not None and all(f'href="{url}"' in rendered.html for url in links)
    assert ("solo con el número" if language == "es" else "just the number") in rendered.text


def test_an_external_survey_url_replaces_the_portal_links(shipped: Templates) -> None:
    context = samples("closing")[1]
    rendered = shipped.render("closing", "es", context)
    assert "encuesta de un minuto: https://encuesta.example.com/satisfaccion?caso=CS0000001" in rendered.text
    assert "/survey/" not in rendered.text and rendered.html is not None and "/survey/" not in rendered.html


@pytest.mark.parametrize(("language", "subject"), [
    ("es", "[CS0000001] Objetivo de solución incumplido: No puedo firmar en Adobe Reader con el token"),
    ("en", "[CS0000001] Resolution target missed: No puedo firmar en Adobe Reader con el token"),
])
def test_the_resolution_breach_has_its_own_subject_in_each_language(shipped: Templates, language: str,
                                                                    subject: str) -> None:
    assert shipped.render("resolution_breach", language, sample("resolution_breach")).subject == subject


def test_agents_are_told_of_a_new_case_with_the_customer_text_under_the_case_subject(shipped: Templates) -> None:
    rendered = shipped.render("agent_notify", "es", sample("agent_notify"))
    assert rendered.subject == "[CS0000001] No puedo firmar en Adobe Reader con el token"
    assert "Ya reinstalé el controlador." in rendered.text and "Responsable: sin asignar" in rendered.text


def test_an_unknown_language_falls_back_to_spanish(shipped: Templates) -> None:
    rendered = shipped.render("ack", "pt", sample("ack"))
    assert "Recibimos su solicitud" in rendered.text
    assert rendered.html is not None and '<html lang="es">' in rendered.html


@pytest.mark.parametrize(("file", "old", "new", "line", "message"), [
    ("es/ack.txt.j2", "{{ case.subject }}{% endblock %}", "{{ case.asunto }}{% endblock %}", 3,
     "unknown variable: 'dict object' has no attribute 'asunto'"),
    ("es/ack.txt.j2", "Recibimos su solicitud", "{{ cliente }} Recibimos su solicitud", 5,
     "unknown variable: 'cliente' is undefined"),
    ("es/_footer.txt.j2", "{{ queue.hours_text }}", "{{ queue.horario }}", 2,
     "unknown variable: 'dict object' has no attribute 'horario'"),
    ("es/_case.html.j2", "{{ case.priority }}", "{{ case.priority + 1 }}", 5,
     "TypeError: can only concatenate str"),
    ("es/ack.html.j2", "{{ case.number }}", "{{ ''.__class__.__mro__ }}", 4,
     "not allowed (the sandbox keeps templates away from Python internals): access to attribute '__class__'"),
    ("es/ack.html.j2", "{{ case.number }}", "{{ cycler.__init__.__globals__ }}", 4,
     "not allowed (the sandbox keeps templates away from Python internals): access to attribute '__init__'"),
    ("es/_signature.txt.j2", "{{ desk.name }}", "{{ desk.name }", 3, "unexpected '}'"),
    ("es/ack.txt.j2", '{% include "_case.txt.j2" %}', '{% include "_caso.txt.j2" %}', 7,
     "no template es/_caso.txt.j2"),
])
def test_a_broken_template_is_reported_with_its_file_and_line(root: Path, file: str, old: str, new: str, line: int,
                                                             message: str) -> None:
    replace_in(root / file, old, new)
    with pytest.raises(TemplateError) as raised:
        Templates(root).render("ack", "es", sample("ack"))
    assert (raised.value.file, raised.value.line) == (str(root / file), line)
    assert raised.value.message.startswith(message)
    assert str(raised.value).startswith(f"{root / file}:{line}: ")


def test_a_text_template_without_a_subject_block_is_an_error_naming_it(root: Path) -> None:
    replace_in(root / "es" / "ack.txt.j2", "{% block subject %}", "{% block asunto %}")
    with pytest.raises(TemplateError, match=r"es/ack\.txt\.j2: no \{% block subject %\}"):
        Templates(root).render("ack", "es", sample("ack"))


@pytest.mark.parametrize(("name", "language", "queue"), [
    ("../ack", "es", None), ("ack", "../../etc", None), ("ack", "es", "../es"), ("ack", "", None)])
def test_names_that_are_not_plain_are_refused(shipped: Templates, name: str, language: str,
                                              queue: str | None) -> None:
    with pytest.raises(TemplateError, match="not a template name"):
        shipped.render(name, language, sample("ack"), queue)


def test_an_edit_is_picked_up_without_a_restart(root: Path) -> None:
    templates = Templates(root)
    assert templates.render("ack", "es", sample("ack")).subject.startswith("[CS0000001]")

    replace_in(root / "es" / "ack.txt.j2", "[{{ case.number }}]", "Caso {{ case.number }}:")

    assert templates.render("ack", "es", sample("ack")).subject.startswith("Caso CS0000001:")


@pytest.mark.parametrize(("file", "old", "new"), [
    ("es/ack.txt.j2", "{% endblock %}", "{% endblok %}"),                          # no longer compiles
    ("es/ack.txt.j2", "{{ case.number }}]", "{{ case.numero }}]"),                # no longer renders
    ("es/_footer.txt.j2", "{{ queue.hours_text }}", "{{ queue.horario }}"),       # a partial it includes
    ("es/_customer.html.j2", "{% block content %}", "{% block content %}{{ x }"),  # the HTML part's layout
])
def test_a_broken_edit_keeps_the_last_good_version_and_says_so(root: Path, caplog: pytest.LogCaptureFixture,
                                                              file: str, old: str, new: str) -> None:
    templates = Templates(root)
    good = templates.render("ack", "es", sample("ack"))

    replace_in(root / file, old, new)
    first = templates.render("ack", "es", sample("ack"))
    second = templates.render("ack", "es", sample("ack"))

    assert (first.subject, first.text, first.html) == (good.subject, good.text, good.html)
    assert first.stale is not None and first.stale.startswith(f"{root / file}:")
    assert second.stale == first.stale
    broken = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(broken) == 1 and str(root / file) in broken[0].getMessage(), "logged once, not once per mail"


def test_a_fixed_edit_is_used_again_and_no_longer_stale(root: Path) -> None:
    templates = Templates(root)
    templates.render("ack", "es", sample("ack"))
    replace_in(root / "es" / "ack.txt.j2", "{{ case.number }}]", "{{ case.numero }}]")
    assert templates.render("ack", "es", sample("ack")).stale is not None

    replace_in(root / "es" / "ack.txt.j2", "{{ case.numero }}]", "{{ case.number }}] Caso:")

    fixed = templates.render("ack", "es", sample("ack"))
    assert fixed.stale is None and fixed.subject.startswith("[CS0000001] Caso:")


def test_a_template_that_never_rendered_raises(root: Path) -> None:
    replace_in(root / "es" / "ack.txt.j2", "{{ case.number }}]", "{{ case.numero }}]")
    with pytest.raises(TemplateError, match="numero"):
        Templates(root).render("ack", "es", sample("ack"))


def test_without_fallback_a_broken_edit_raises_even_after_a_good_version(root: Path) -> None:
    templates = Templates(root)
    templates.render("ack", "es", sample("ack"))
    replace_in(root / "es" / "ack.txt.j2", "{{ case.number }}]", "{{ case.numero }}]")
    with pytest.raises(TemplateError, match="numero"):
        templates.render("ack", "es", sample("ack"), fallback=False)


def test_a_queue_override_wins_over_the_default_for_that_queue_only(root: Path) -> None:
    edit(root / "mesadeayuda" / "es" / "ack.txt.j2",
         '{% extends "_customer.txt.j2" %}\n{% block subject %}Mesa: {{ case.number }}{% endblock %}\n'
         "{% block content %}\nTexto de la cola.\n{% endblock %}\n")
    templates = Templates(root)

    overridden = templates.render("ack", "es", sample("ack"), queue="mesadeayuda")
    other = templates.render("ack", "es", sample("ack"), queue="clavesegura")

    assert overridden.subject == "Mesa: CS0000001" and "Texto de la cola." in overridden.text
    assert overridden.files[0] == str(root / "mesadeayuda" / "es" / "ack.txt.j2")
    assert overridden.files[1] == str(root / "es" / "ack.html.j2"), "the half not overridden is the default's"
    assert other.subject.startswith("[CS0000001]") and other.files[0] == str(root / "es" / "ack.txt.j2")


def test_a_queue_overrides_a_shared_piece_for_all_its_mails(root: Path) -> None:
    edit(root / "mesadeayuda" / "es" / "_footer.txt.j2", "Horario de la cola: 24 horas\n")
    templates = Templates(root)
    for name in ("ack", "closing"):
        assert "Horario de la cola: 24 horas" in templates.render(name, "es", sample(name), "mesadeayuda").text
        assert "Horario de la cola" not in templates.render(name, "es", sample(name)).text


def test_an_override_added_or_removed_while_running_is_picked_up(root: Path) -> None:
    templates = Templates(root)
    assert "Horario de atención" in templates.render("ack", "es", sample("ack"), "mesadeayuda").text
    footer = root / "mesadeayuda" / "es" / "_footer.txt.j2"

    edit(footer, "Horario de la cola: 24 horas\n")
    assert "Horario de la cola" in templates.render("ack", "es", sample("ack"), "mesadeayuda").text

    footer.unlink()
    assert "Horario de atención" in templates.render("ack", "es", sample("ack"), "mesadeayuda").text


def test_a_new_broken_override_leaves_its_queue_on_the_defaults_last_good_version(root: Path) -> None:
    templates = Templates(root)
    good = templates.render("ack", "es", sample("ack"), "mesadeayuda")

    edit(root / "mesadeayuda" / "es" / "_footer.txt.j2", "Horario: {{ queue.horario }}\n")
    rendered = templates.render("ack", "es", sample("ack"), "mesadeayuda")

    assert rendered.text == good.text
    assert rendered.stale is not None and "mesadeayuda/es/_footer.txt.j2:1: unknown variable" in rendered.stale


def test_one_queues_broken_override_never_falls_back_to_another_queues_version(root: Path) -> None:
    override = root / "mesadeayuda" / "es" / "ack.txt.j2"
    edit(override, (root / "es" / "ack.txt.j2").read_text().replace("Recibimos", "Mesa: recibimos"))
    templates = Templates(root)
    assert "Mesa: recibimos" in templates.render("ack", "es", sample("ack"), "mesadeayuda").text
    templates.render("ack", "es", sample("ack"), "clavesegura")

    replace_in(override, "Mesa: recibimos", "{{ x }}")

    rendered = templates.render("ack", "es", sample("ack"), "mesadeayuda")
    assert "Mesa: recibimos" in rendered.text and rendered.stale is not None


def _hostile(value: Any) -> Any:
    """Every text of a context replaced by markup and template syntax, as a hostile customer would write them."""
    if isinstance(value, dict):
        return {key: _hostile(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_hostile(item) for item in value]
    return HOSTILE if isinstance(value, str) and value else value
