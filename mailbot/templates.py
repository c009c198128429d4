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
        self._last_good: dict[str, Template] = {}

    def render(self, name: str, language: str, context: dict[str, Any]) -> Rendered:
        text_template = self._template(name, language, "txt", required=True)
        assert text_template is not None
        lang = text_template.name.partition("/")[0] if text_template.name else language
        context = {**context, "lang": lang}
        html_template = self._template(name, lang, "html", required=False)
        try:
            ctx = text_template.new_context(context)
            subject = " ".join("".join(text_template.blocks["subject"](ctx)).split())
            text = "".join(text_template.blocks["body"](ctx))
            html = html_template.render(context) if html_template is not None else None
        except KeyError as exc:
            raise TemplateError(f"{self.path / (text_template.name or name)}: missing block {exc}") from None
        except JinjaError as exc:
            raise TemplateError(_describe(exc, self.path, text_template.name or name)) from None
        return Rendered(subject=subject, text=text, html=html)

    def _template(self, name: str, language: str, kind: str, required: bool) -> Template | None:
        candidates = [f"{language}/{name}.{kind}.j2"]
        if language != FALLBACK_LANGUAGE:
            candidates.append(f"{FALLBACK_LANGUAGE}/{name}.{kind}.j2")
        for candidate in candidates:
            try:
                template = self.env.get_template(candidate)
            except TemplateNotFound:
                continue
            except JinjaError as exc:
                # An admin's edit broke it: say why, and keep sending with the version that worked.
                if candidate in self._last_good:
                    log.error("template %s is broken, using the last good version: %s", candidate, _describe(exc, self.path, candidate))
                    return self._last_good[candidate]
                raise TemplateError(_describe(exc, self.path, candidate)) from None
            self._last_good[candidate] = template
            return template
        if required:
            raise TemplateError(f"no template {candidates[0]} under {self.path}")
        return None


def _describe(exc: JinjaError, root: Path, name: str) -> str:
    if isinstance(exc, TemplateSyntaxError):
        return f"{root / (exc.name or name)}:{exc.lineno}: {exc.message}"
    return f"{root / name}: {exc}"
