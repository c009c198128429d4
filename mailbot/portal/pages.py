"""The portal's pages: Jinja2 templates from templates/portal, autoescaped, in the desk's language and time zone."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from ..config import Config
from .i18n import Words, size_text

STYLESHEET = "portal.css"


class Pages:
    """Renders `templates/portal/<name>.html` with the words, the desk's name and hours, and date filters.

    A page's own template environment, not the mail templates' sandbox: these templates are part of the
    installation (admins restyle them with a stylesheet), and an undefined name is a bug that tests must catch."""

    def __init__(self, config: Config) -> None:
        self.folder = config.templates_path / "portal"
        self.words = Words(config.desk.language)
        zone = config.desk.zone
        self.env = Environment(
            loader=FileSystemLoader(self.folder),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.globals.update(
            t=self.words,
            lang=self.words.language,
            desk_name=config.desk.name,
            hours=[(queue.name, queue.hours_text) for queue in config.queues if queue.hours_text],
            site_stylesheet=config.portal.stylesheet is not None,
        )
        self.env.filters.update(
            when=lambda moment: _when(moment, zone, self.words.date_format),
            state=self.words.state,
            priority=self.words.priority,
            size=size_text,
        )

    @property
    def stylesheet(self) -> Path:
        return self.folder / STYLESHEET

    def render(self, name: str, context: dict[str, Any]) -> str:
        return self.env.get_template(f"{name}.html").render(context)


def _when(moment: datetime, zone: Any, date_format: str) -> str:
    return moment.astimezone(zone).strftime(date_format)
