"""`templates check` finds what an admin broke, with file and line, even where the samples do not reach;
`templates preview` shows a mail from sample data or a real case's context."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from mailbot.config import DEFAULT_TEMPLATES
from mailbot.template_check import Problem, check, preview
from mailbot.template_samples import MAILS, sample
from mailbot.templates import TemplateError, Templates

QUEUES = ["mesadeayuda", "clavesegura"]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A copy of the shipped templates that a test may edit."""
    shutil.copytree(DEFAULT_TEMPLATES, tmp_path / "templates")
    return tmp_path / "templates"


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    stat = path.stat()
    os.utime(path, (stat.st_atime + 5, stat.st_mtime + 5))


def test_the_shipped_templates_have_no_problem() -> None:
    assert check(Templates(DEFAULT_TEMPLATES), QUEUES) == []


ACK = '{% extends "_customer.txt.j2" %}\n{% block subject %}[{{ case.number }}]{% endblock %}\n{% block content %}\n'
HTML = '{% extends "_customer.html.j2" %}\n{% block content %}\n'
END = "\n{% endblock %}\n"


@pytest.mark.parametrize(("file", "text", "line", "message"), [
    # an unknown variable where the samples go, and where they do not
    ("es/ack.txt.j2", ACK + "{{ case.numero }}" + END, 4,
     "unknown variable: case.numero (case has created_at, number, owner, priority, state, subject, updated_at)"),
    ("es/ack.txt.j2", ACK + "{% if false %}\n{{ case.numero }}\n{% endif %}" + END, 5, "unknown variable: case.numero"),
    ("es/ack.txt.j2", ACK + "{% if false %}{{ cliente }}{% endif %}" + END, 4,
     "unknown variable: 'cliente' (the context has case, contact, desk, queue)"),
    ("es/_footer.txt.j2", "{# pie #}\nHorario: {{ queue.horario }}\n", 2, "unknown variable: queue.horario"),
    # syntax
    ("es/ack.txt.j2", ACK + "{% if case.owner %}" + END, 5, "Encountered unknown tag 'endblock'"),
    ("en/closing.html.j2", "{{ case.number }\n", 1, "unexpected '}'"),
    # Python internals, in any branch
    ("es/ack.txt.j2", ACK + "{% if false %}{{ ''.__class__.__mro__ }}{% endif %}" + END, 4, "not allowed: '__"),
    ("es/ack.txt.j2", ACK + "{{ cycler.__init__.__globals__ }}" + END, 4, "not allowed: '__"),
    ("es/ack.txt.j2", ACK + "{{ case['__class__'] }}" + END, 4,
     "not allowed: '__class__' reaches Python internals, which the sandbox refuses"),
    # HTML escaping turned off
    ("es/ack.html.j2", HTML + "{{ case.subject|safe }}" + END, 3, "not allowed: |safe turns HTML escaping off"),
    ("es/ack.html.j2", HTML + "{% autoescape false %}{{ case.subject }}{% endautoescape %}" + END, 3,
     "not allowed: {% autoescape %}"),
    # only rendering finds these
    ("es/_case.txt.j2", "Prioridad: {{ case.priority + 1 }}\n", 1, "TypeError: can only concatenate str"),
    ("es/ack.txt.j2", ACK + '{% include "_caso.txt.j2" %}' + END, 4, "no template es/_caso.txt.j2"),
    # a queue's override, and a piece of it
    ("mesadeayuda/es/ack.txt.j2", ACK + "{{ case.numero }}" + END, 4, "unknown variable: case.numero"),
    ("mesadeayuda/en/_signature.txt.j2", "-- \n{{ desk.nombre }}\n", 2, "unknown variable: desk.nombre"),
    # files never read
    ("es/acuse.txt.j2", "x", 0, "never read: mails are <name>.txt.j2 and <name>.html.j2 with name one of ack, "),
    ("es/ack.txt", "x", 0, "never read: mails are <name>.txt.j2"),
    ("mesadeayuda/ack.txt.j2", "x", 0, "never read: a queue's templates go in mesadeayuda/<language>/"),
])
def test_check_reports_each_problem_with_file_and_line(root: Path, file: str, text: str, line: int,
                                                       message: str) -> None:
    write(root / file, text)

    problems = check(Templates(root), QUEUES)

    assert len(problems) == 1, f"one problem, one message: {problems}"
    assert (problems[0].file, problems[0].line) == (str(root / file), line)
    assert problems[0].message.startswith(message)


def test_check_reports_a_folder_that_is_neither_a_language_nor_a_configured_queue(root: Path) -> None:
    write(root / "mesa" / "es" / "ack.txt.j2", "x")
    assert check(Templates(root), QUEUES) == [Problem(
        str(root / "mesa"), 0, "never read: neither a language (es, en) nor a configured queue "
                               "(mesadeayuda, clavesegura)")]


def test_check_reports_a_mail_missing_in_a_language(root: Path) -> None:
    (root / "en" / "reminder.txt.j2").unlink()
    assert check(Templates(root), QUEUES) == [
        Problem(str(root / "en" / "reminder.txt.j2"), 0, "missing: the en mail falls back to another language")]


def test_check_ignores_editor_backups_and_hidden_files(root: Path) -> None:
    write(root / "es" / "ack.txt.j2~", "{{ x }")
    write(root / "es" / ".ack.txt.j2.swp", "{{ x }")
    assert check(Templates(root), QUEUES) == []


def test_problems_read_like_compiler_messages() -> None:
    assert str(Problem("templates/es/ack.txt.j2", 4, "unknown variable: case.numero")) == \
        "templates/es/ack.txt.j2:4: unknown variable: case.numero"
    assert str(Problem("templates/mesa", 0, "never read")) == "templates/mesa: never read"


@pytest.mark.parametrize("name", MAILS)
def test_preview_renders_each_mail_from_its_sample(name: str) -> None:
    rendered = preview(Templates(DEFAULT_TEMPLATES), name, "en")
    assert rendered.subject and rendered.html is not None and rendered.stale is None


def test_preview_uses_the_queue_override_and_a_real_case_context(root: Path) -> None:
    write(root / "mesadeayuda" / "es" / "_footer.txt.j2", "Horario de la cola: {{ queue.hours_text }}\n")
    context = sample("ack")
    context["case"]["number"] = "CS0000042"
    context["queue"]["hours_text"] = "Todos los días, 24 horas"

    rendered = preview(Templates(root), "ack", "es", queue="mesadeayuda", context=context)

    assert rendered.subject.startswith("[CS0000042]")
    assert "Horario de la cola: Todos los días, 24 horas" in rendered.text
    assert str(root / "mesadeayuda" / "es" / "_footer.txt.j2") in rendered.files


def test_preview_shows_a_broken_file_even_when_a_last_good_version_exists(root: Path) -> None:
    templates = Templates(root)
    templates.render("ack", "es", sample("ack"))
    write(root / "es" / "_case.txt.j2", "{{ case.numero }}\n")

    with pytest.raises(TemplateError, match=r"es/_case\.txt\.j2:1: unknown variable"):
        preview(templates, "ack", "es")


def test_preview_of_an_unknown_mail_names_the_mails() -> None:
    with pytest.raises(TemplateError, match="no mail named 'acuse'; the mails are ack, credentials, "):
        preview(Templates(DEFAULT_TEMPLATES), "acuse", "es")
