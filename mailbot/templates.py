"""Render admin-editable Jinja2 mail templates in a sandbox: per-queue overrides, edits reloaded, last good version kept."""

from __future__ import annotations

import logging
import re
import threading
import traceback
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from jinja2 import BaseLoader, Environment, StrictUndefined, Template, TemplateNotFound, TemplateSyntaxError
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.exceptions import TemplateError as JinjaError
from jinja2.loaders import split_template_path
from jinja2.sandbox import SandboxedEnvironment

log = logging.getLogger(__name__)
FALLBACK_LANGUAGE = "es"
# A queue key, a language or a mail name: one folder or file stem, never a path.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


class TemplateError(Exception):
    """A template is missing or broken. str() is `file:line: message`, the form editors jump to."""

    def __init__(self, message: str, file: str = "", line: int = 0) -> None:
        self.message, self.file, self.line = message, file, line
        where = f"{file}:{line}: " if file and line else f"{file}: " if file else ""
        super().__init__(where + message)


@dataclass(frozen=True)
class Rendered:
    """A mail ready for compose: a one-line subject, the text body and the HTML body (None without .html.j2)."""

    subject: str
    text: str
    html: str | None
    files: tuple[str, ...] = ()
    """Every template file the mail came from: the text, the HTML, then their layouts and includes."""
    stale: str | None = None
    """None, or why a file on disk is broken: this mail then came from the last version that rendered."""


class Templates:
    """`<lang>/<name>.txt.j2` (subject block and body) and an optional `<name>.html.j2`; a queue overrides any
    file, partials included, in `<queue>/<lang>/`. See templates/README.md for the rules admins follow."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._folders = _Folders(path)
        self._last_good = _LastGood(self._folders)
        self.environment = _Environment(self._folders)
        self._fallback = _Environment(self._last_good)
        self._lock = threading.Lock()  # a render records what it used; two at once would mix their records
        self._logged: dict[str, str] = {}  # mail → the breakage already logged, so a burst of mails logs it once

    def render(self, name: str, language: str, context: Mapping[str, Any], queue: str | None = None, *,
               fallback: bool = True) -> Rendered:
        """Render with the files on disk. If an edit broke them (they fail to compile or to render), log why and,
        with `fallback`, use the version of each file that last rendered, so mail keeps going out; the result's
        `stale` says so. A mail that never rendered raises TemplateError."""
        with self._lock:
            mail = f"{queue or ''}/{language}/{name}"
            try:
                rendered, sources = self._render(self.environment, name, language, context, queue)
            except TemplateError as error:
                if not fallback:
                    raise
                try:
                    rendered, _ = self._render(self._fallback, name, language, context, queue)
                except TemplateError:
                    raise error from None
                if self._logged.get(mail) != str(error):
                    self._logged[mail] = str(error)
                    log.error("template broken, its mails use the last version that rendered: %s", error)
                return replace(rendered, stale=str(error))
            self._logged.pop(mail, None)
            self._last_good.sources.update(sources)
            return rendered

    def language_of(self, name: str, language: str, queue: str | None = None) -> str:
        """The language the mail is written in: `language` if there is a template for it, else the fallback."""
        for part in (name, language, *([] if queue is None else [queue])):
            if not _PLAIN_NAME.fullmatch(part):
                raise TemplateError(f"not a template name, language or queue: {part!r}")
        for lang in dict.fromkeys((language, FALLBACK_LANGUAGE)):
            if self._folders.find(f"{_folder(queue, lang)}/{name}.txt.j2") is not None:
                return lang
        raise TemplateError(f"no template {language}/{name}.txt.j2 (nor {FALLBACK_LANGUAGE}/) under {self.path}")

    def _render(self, env: _Environment, name: str, language: str, context: Mapping[str, Any],
                queue: str | None) -> tuple[Rendered, dict[str, str]]:
        """The mail, and the source of every file it used (file → source)."""
        lang = self.language_of(name, language, queue)
        text_name = f"{_folder(queue, lang)}/{name}.txt.j2"
        html_name = f"{_folder(queue, lang)}/{name}.html.j2"
        used: list[str] = []
        env.used = used
        try:
            text = env.get_template(text_name)
            html = _optional(env, html_name)
            variables = {**context, "lang": lang}
            subject = one_line(_subject(env, text, variables))
            text_body = text.render(variables)
            html_body = html.render({**variables, "subject": subject}) if html is not None else None
        except TemplateError:
            raise
        except Exception as exc:  # TypeError from {{ case.number + 1 }} too: still the template's fault
            raise _describe(exc) from None
        finally:
            env.used = None
        names = [text_name, *([html_name] if html is not None else []), *used]
        sources = dict(env.files.served[n] for n in names if n in env.files.served)
        return Rendered(subject=subject, text=text_body, html=html_body, files=tuple(sources)), sources


def one_line(text: str) -> str:
    """A header-safe line: control characters (CR, LF, NUL, ESC …) become spaces and runs of white space one
    space, so nothing from a context value can start a new header (RFC 5322 §2.2)."""
    return " ".join("".join(" " if unicodedata.category(c) == "Cc" else c for c in text).split())


class _Environment(SandboxedEnvironment):
    """The sandbox: StrictUndefined, HTML escaped, edits reloaded; a partial is looked up beside its includer."""

    def __init__(self, loader: _Folders | _LastGood) -> None:
        super().__init__(loader=loader, undefined=StrictUndefined, autoescape=_is_html, trim_blocks=True,
                         lstrip_blocks=True, keep_trailing_newline=True, auto_reload=True,
                         cache_size=-1)  # never evict: names are bounded by files × queues, and a miss recompiles
        self.files = loader
        self.used: list[str] | None = None  # while a render runs: the layouts and includes it loads

    def join_path(self, template: str, parent: str) -> str:
        """`{% include "_footer.txt.j2" %}` in `mesadeayuda/es/ack.txt.j2` means `mesadeayuda/es/_footer.txt.j2`,
        which is the queue's own footer if it has one, else `es/_footer.txt.j2`."""
        folder = parent.rpartition("/")[0]
        name = template if "/" in template or not folder else f"{folder}/{template}"
        if self.used is not None:
            self.used.append(name)
        return name


class _Folders(BaseLoader):
    """`<queue>/<lang>/<file>` is the queue's own file if it exists, else `<lang>/<file>`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        # name → (file, source) as last read: after a render, what it used.
        self.served: dict[str, tuple[str, str]] = {}

    def candidates(self, name: str) -> list[Path]:
        pieces = split_template_path(name)
        if len(pieces) == 3:
            return [self.root.joinpath(*pieces), self.root.joinpath(*pieces[1:])]
        if len(pieces) == 2:
            return [self.root.joinpath(*pieces)]
        raise TemplateNotFound(name)

    def find(self, name: str) -> Path | None:
        return next((path for path in self.candidates(name) if path.is_file()), None)

    def get_source(self, environment: Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        candidates = self.candidates(template)
        for index, path in enumerate(candidates):
            try:
                mtime = path.stat().st_mtime
                data = path.read_bytes()
            except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
                continue
            source = _decode(data, template, path)
            self.served[template] = (str(path), source)
            shadows = candidates[:index]

            def uptodate(path: Path = path, mtime: float = mtime, shadows: list[Path] = shadows) -> bool:
                """Stale when the file changed or a queue's override of it appeared."""
                try:
                    return path.stat().st_mtime == mtime and not any(p.is_file() for p in shadows)
                except OSError:
                    return False

            return source, str(path), uptodate
        raise TemplateNotFound(template)


class _LastGood(BaseLoader):
    """The version of each file that last rendered a whole mail: what a broken edit falls back to."""

    def __init__(self, folders: _Folders) -> None:
        self.folders = folders
        self.sources: dict[str, str] = {}  # file → source
        self.served: dict[str, tuple[str, str]] = {}

    def pick(self, name: str) -> tuple[str, str] | None:
        """The first file that exists for `name` and once rendered: a queue's new override that never worked
        leaves that queue on the default's last good version."""
        for path in self.folders.candidates(name):
            source = self.sources.get(str(path))
            if source is not None and path.is_file():
                return str(path), source
        return None

    def get_source(self, environment: Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        found = self.pick(template)
        if found is None:
            raise TemplateNotFound(template)
        self.served[template] = found
        return found[1], found[0], lambda: self.pick(template) == found


def _folder(queue: str | None, lang: str) -> str:
    return f"{queue}/{lang}" if queue else lang


def _is_html(name: str | None) -> bool:
    return bool(name and name.endswith(".html.j2"))


def _optional(env: _Environment, name: str) -> Template | None:
    try:
        return env.get_template(name)
    except TemplateNotFound as exc:
        if exc.name != name:
            raise
        return None


def _subject(env: _Environment, template: Template, variables: dict[str, Any]) -> str:
    block = template.blocks.get("subject")
    if block is None:
        raise TemplateError("no {% block subject %}: the text template must hold the subject",
                            template.filename or template.name or "")
    try:
        return "".join(block(template.new_context(variables)))
    except Exception:
        env.handle_exception()  # maps the frames of the compiled block to the template's file and line


def _decode(data: bytes, name: str, path: Path) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise TemplateSyntaxError("not UTF-8: save the file as UTF-8", line, name, str(path)) from None


def _describe(exc: Exception) -> TemplateError:
    """The error with the template file and line it happened on: a syntax error knows them; for a runtime error,
    Jinja rewrites the traceback so that template frames carry their file and line, and the innermost wins."""
    if isinstance(exc, TemplateSyntaxError):
        return TemplateError(exc.message or str(exc), exc.filename or exc.name or "", exc.lineno)
    file, line = "", 0
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.endswith(".j2"):
            file, line = frame.filename, frame.lineno or 0
    if isinstance(exc, UndefinedError):
        message = f"unknown variable: {exc.message}"
    elif isinstance(exc, SecurityError):
        message = f"not allowed (the sandbox keeps templates away from Python internals): {exc.message}"
    elif isinstance(exc, TemplateNotFound):
        message = f"no template {exc.name}"
    elif isinstance(exc, JinjaError):
        message = str(exc)
    else:
        message = f"{type(exc).__name__}: {exc}"
    return TemplateError(message, file, line)
