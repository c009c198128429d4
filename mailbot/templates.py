"""Render admin-editable Jinja2 mail templates in a sandbox, reloading edits and keeping the last good version."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, Template, TemplateNotFound, TemplateSyntaxError
from jinja2.exceptions import TemplateError as JinjaError
from jinja2.sandbox import SandboxedEnvironment

log = logging.getLogger(__name__)
FALLBACK_LANGUAGE = "es"


class TemplateError(Exception):
    """A template is missing or broken; str() names the file and line."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str | None


class Templates:
    """`templates/<lang>/<name>.txt.j2` (subject and body blocks) and an optional `<name>.html.j2`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.env = SandboxedEnvironment(
            loader=FileSystemLoader(path),
            undefined=StrictUndefined,
            autoescape=lambda name: bool(name and name.endswith(".html.j2")),
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            auto_reload=True,
        )
        # Per (name, language), the templates that last rendered: what an admin's broken edit falls back to.
        self._last_good: dict[tuple[str, str], _Pair] = {}

    def render(self, name: str, language: str, context: dict[str, Any]) -> Rendered:
        """Render with the templates on disk; if an edit broke them (they fail to compile or to render), say why
        and use the version that last rendered, so mail keeps going out."""
        key = (name, language)
        try:
            pair = self._load(name, language)
            rendered = pair.render(context, self.path)
        except TemplateError as error:
            last_good = self._last_good.get(key)
            if last_good is None:
                raise
            log.error("template %s/%s is broken, using the last version that rendered: %s", language, name, error)
            return last_good.render(context, self.path)
        self._last_good[key] = pair
        return rendered

    def _load(self, name: str, language: str) -> _Pair:
        text = self._template(name, language, "txt")
        if text is None:
            raise TemplateError(f"no template {language}/{name}.txt.j2 under {self.path}")
        lang = (text.name or language).partition("/")[0]
        return _Pair(text, self._template(name, lang, "html"), lang)

    def _template(self, name: str, language: str, kind: str) -> Template | None:
        """The language's template, else the fallback language's, else None."""
        candidates = [f"{language}/{name}.{kind}.j2"]
        if language != FALLBACK_LANGUAGE:
            candidates.append(f"{FALLBACK_LANGUAGE}/{name}.{kind}.j2")
        for candidate in candidates:
            try:
                return self.env.get_template(candidate)
            except TemplateNotFound:
                continue
            except JinjaError as exc:
                raise TemplateError(_describe(exc, self.path, candidate)) from None
        return None


@dataclass(frozen=True)
class _Pair:
    text: Template
    html: Template | None
    lang: str

    def render(self, context: dict[str, Any], root: Path) -> Rendered:
        context = {**context, "lang": self.lang}
        name = self.text.name or "?"
        try:
            ctx = self.text.new_context(context)
            subject = " ".join("".join(self.text.blocks["subject"](ctx)).split())
            text = "".join(self.text.blocks["body"](ctx))
            html = self.html.render(context) if self.html is not None else None
        except KeyError as exc:
            raise TemplateError(f"{root / name}: missing block {exc}") from None
        except JinjaError as exc:
            raise TemplateError(_describe(exc, root, name)) from None
        except Exception as exc:  # e.g. TypeError from {{ case.number + 1 }}: still the template's fault
            raise TemplateError(f"{root / name}: {type(exc).__name__}: {exc}") from None
        return Rendered(subject=subject, text=text, html=html)


def _describe(exc: JinjaError, root: Path, name: str) -> str:
    if isinstance(exc, TemplateSyntaxError):
        return f"{root / (exc.name or name)}:{exc.lineno}: {exc.message}"
    return f"{root / name}: {exc}"
