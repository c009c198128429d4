"""The portal's forms checked field by field: what was typed, cleaned, or a message for each field that is wrong."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..config import Config
from ..desk.submissions import NewRequest, Upload
from .i18n import Words, size_text

MAX_FILES = 10
MAX_SHORT = 200  # one-line fields: subject, product, contact hours
MAX_TEXT = 20_000  # a reply or a description (a mail's worth of text)
MAX_PHONE = 40
# Digits with the usual separators, a leading + and an extension: "+57 (601) 555-0100 ext. 12".
_PHONE = re.compile(r"\+?[0-9][0-9 ().\-/]{5,30}(\s*(ext\.?|extensión|x)\s*[0-9]{1,6})?", re.IGNORECASE)


@dataclass(frozen=True)
class Submitted:
    """A form as the browser sent it: text fields, the files within the size limit, and those over it."""

    fields: Mapping[str, str]
    uploads: tuple[Upload, ...] = ()
    too_big: tuple[str, ...] = ()

    def text(self, name: str) -> str:
        return clean(self.fields.get(name, ""))


@dataclass
class Checked:
    """Field name → message for each field that is wrong; "files" for the attachments."""

    errors: dict[str, str] = field(default_factory=dict)

    def require(self, words: Words, name: str, value: str, limit: int) -> None:
        if not value:
            self.errors.setdefault(name, words("err_required"))
        elif len(value) > limit:
            self.errors.setdefault(name, words("err_field_too_long", length=limit))

    def files(self, words: Words, form: Submitted, config: Config) -> None:
        size = size_text(config.limits.max_attachment_size)
        if form.too_big:
            self.errors["files"] = words("err_file_too_big", name=form.too_big[0], size=size)
        elif len(form.uploads) > MAX_FILES:
            self.errors["files"] = words("err_too_many_files", count=MAX_FILES)


def clean(text: str) -> str:
    """Typed text as we keep it: line ends as \\n, no other control characters (a NUL cannot reach a database or
    a mail), no blanks around it."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(c for c in text if c in "\n\t" or unicodedata.category(c) != "Cc").strip()


def one_line(text: str) -> str:
    return " ".join(text.split())


def check_reply(words: Words, form: Submitted, config: Config) -> tuple[str, dict[str, str]]:
    """(the reply's text, errors): text, a file, or both."""
    checked = Checked()
    text = form.text("text")
    if not text and not form.uploads and not form.too_big:
        checked.errors["text"] = words("err_reply_empty")
    elif len(text) > MAX_TEXT:
        checked.errors["text"] = words("err_field_too_long", length=MAX_TEXT)
    checked.files(words, form, config)
    return text, checked.errors


def check_request(words: Words, form: Submitted, config: Config) -> tuple[NewRequest, dict[str, str]]:
    """The manual's form: Servicio, Asunto and Descripción are needed; a phone, when given, must look like one."""
    checked = Checked()
    request = NewRequest(
        queue=form.text("queue"),
        subject=one_line(form.text("subject")),
        description=form.text("description"),
        product=one_line(form.text("product")),
        report=one_line(form.text("report")),
        contact_hours=one_line(form.text("contact_hours")),
        phone=one_line(form.text("phone")),
    )
    if request.queue not in {queue.key for queue in config.queues}:
        checked.errors["queue"] = words("err_queue")
    checked.require(words, "subject", request.subject, MAX_SHORT)
    checked.require(words, "description", request.description, MAX_TEXT)
    for name in ("product", "report", "contact_hours"):
        if len(getattr(request, name)) > MAX_SHORT:
            checked.errors[name] = words("err_field_too_long", length=MAX_SHORT)
    if request.phone and (len(request.phone) > MAX_PHONE or not _PHONE.fullmatch(request.phone)):
        checked.errors["phone"] = words("err_phone")
    checked.files(words, form, config)
    return request, checked.errors


def uploads_of(files: Sequence[tuple[str, str, bytes]], limit: int) -> tuple[tuple[Upload, ...], tuple[str, ...]]:
    """(the files to keep, the names of those over `limit` bytes); an empty file input sends a nameless part."""
    kept = tuple(Upload(name, content_type, data) for name, content_type, data in files if name and len(data) <= limit)
    too_big = tuple(name for name, _, data in files if name and len(data) > limit)
    return kept, too_big
