"""Templates render in a sandbox: HTML escaped, unknown variables refused, the last good version kept."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from mailbot.config import DEFAULT_TEMPLATES
from mailbot.templates import TemplateError, Templates

CONTEXT: dict[str, Any] = {
    "desk": {"name": "Mesa de ayuda Ejemplo", "portal_url": "https://portal.example.com/csm"},
    "queue": {"key": "mesadeayuda", "name": "Mesa de ayuda", "address": "mesadeayuda@example.com",
              "hours_text": "Lunes a viernes de 7:00 a. m. a 7:00 p. m."},
    "contact": {"email": "ana@example.org", "name": "Ana <b>", "account": "example.org"},
    "case": {"number": "CS0000007", "subject": "Token <script>alert(1)</script> {{ 7*7 }}",
             "priority": "3 - Moderada", "state": "Nuevo", "created_at": "2026-11-23 09:15 (America/Bogota)"},
}


@pytest.mark.parametrize("language", ["es", "en"])
def test_the_acknowledgement_renders_subject_text_and_escaped_html(language: str) -> None:
    rendered = Templates(DEFAULT_TEMPLATES).render("ack", language, CONTEXT)
    assert rendered.subject == "[CS0000007] Token <script>alert(1)</script> {{ 7*7 }}"
    assert "CS0000007" in rendered.text and "{{ 7*7 }}" in rendered.text, "customer text is never evaluated"
    assert rendered.html is not None and "<script>" not in rendered.html
    assert "&lt;script&gt;" in rendered.html and "49" not in rendered.html


@pytest.mark.parametrize("language", ["es", "en"])
def test_the_credentials_mail_shows_the_password_once_per_part(language: str) -> None:
    context = {**CONTEXT, "username": "ana@example.org", "password": "Q7mXk2pVbT9cRz4W"}
    rendered = Templates(DEFAULT_TEMPLATES).render("credentials", language, context)
    assert rendered.text.count("Q7mXk2pVbT9cRz4W") == 1
    assert rendered.html is not None and rendered.html.count("Q7mXk2pVbT9cRz4W") == 1


def test_an_unknown_language_falls_back_to_spanish() -> None:
    rendered = Templates(DEFAULT_TEMPLATES).render("ack", "pt", CONTEXT)
    assert "Recibimos su solicitud" in rendered.text


def test_a_missing_variable_is_an_error_naming_the_template() -> None:
    context = {k: v for k, v in CONTEXT.items() if k != "case"}
    with pytest.raises(TemplateError, match=r"ack\.txt\.j2.*'case' is undefined"):
        Templates(DEFAULT_TEMPLATES).render("ack", "es", context)


def test_the_sandbox_refuses_python_internals(tmp_path: Path) -> None:
    (tmp_path / "es").mkdir()
    (tmp_path / "es" / "evil.txt.j2").write_text(
        "{% block subject %}x{% endblock %}{% block body %}{{ ''.__class__.__mro__[1].__subclasses__() }}{% endblock %}")
    with pytest.raises(TemplateError, match="unsafe"):
        Templates(tmp_path).render("evil", "es", {})


def test_an_edit_is_picked_up_and_a_broken_edit_keeps_the_last_good_version(tmp_path: Path) -> None:
    shutil.copytree(DEFAULT_TEMPLATES, tmp_path, dirs_exist_ok=True)
    templates = Templates(tmp_path)
    assert templates.render("ack", "es", CONTEXT).subject.startswith("[CS0000007]")
    ack = tmp_path / "es" / "ack.txt.j2"
    source = ack.read_text()

    ack.write_text(source.replace("[{{ case.number }}]", "Caso {{ case.number }}:"))
    _touch_later(ack)
    assert templates.render("ack", "es", CONTEXT).subject.startswith("Caso CS0000007:")

    ack.write_text(source.replace("{% endblock %}", "{% endblok %}", 1))
    _touch_later(ack)
    assert templates.render("ack", "es", CONTEXT).subject.startswith("Caso CS0000007:")


def test_a_broken_template_with_no_good_version_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "es").mkdir()
    (tmp_path / "es" / "ack.txt.j2").write_text("{% block subject %}x{% endblock %}\n{% block body %}{{ x }\n")
    with pytest.raises(TemplateError, match=r"es/ack\.txt\.j2:2: "):
        Templates(tmp_path).render("ack", "es", {})


def _touch_later(path: Path) -> None:
    """Jinja reloads on a changed mtime; make sure the change is visible within one clock tick."""
    import os

    stat = path.stat()
    os.utime(path, (stat.st_atime + 5, stat.st_mtime + 5))


def test_an_edit_that_fails_to_render_keeps_the_last_version_that_rendered(tmp_path: Path) -> None:
    shutil.copytree(DEFAULT_TEMPLATES, tmp_path, dirs_exist_ok=True)
    templates = Templates(tmp_path)
    good = templates.render("ack", "es", CONTEXT)
    ack = tmp_path / "es" / "ack.txt.j2"

    ack.write_text(ack.read_text().replace("{{ case.number }}", "{{ case.numero }}", 1))  # an unknown variable
    _touch_later(ack)

    assert templates.render("ack", "es", CONTEXT) == good


def test_a_template_error_of_another_kind_is_reported_as_a_template_error(tmp_path: Path) -> None:
    (tmp_path / "es").mkdir()
    (tmp_path / "es" / "ack.txt.j2").write_text("{% block subject %}{{ n + 1 }}{% endblock %}{% block body %}{% endblock %}")
    with pytest.raises(TemplateError, match=r"ack\.txt\.j2: TypeError"):
        Templates(tmp_path).render("ack", "es", {"n": "uno"})
