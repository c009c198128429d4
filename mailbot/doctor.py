"""Check an installation before it runs: database, mailboxes, SMTP server, templates, storage; read-only, one row each."""

from __future__ import annotations

import asyncio
import os
import shutil
import ssl
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import aiosmtplib
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from . import store
from .config import Config, ConfigError, QueueConfig, SmtpConfig
from .errors import first_line
from . import template_check
from .templates import Templates

# Below this much free space the desk is one large attachment burst away from a full disk (SQLite then stops).
MIN_FREE = 1 << 30
PROBE_SIZE = 4096
DEFAULT_TIMEOUT = 10.0


@dataclass(frozen=True)
class Check:
    """One row of the report: what was checked, whether it is fine, and the detail a person acts on."""

    name: str
    ok: bool
    detail: str


def run_checks(config: Config, timeout: float = DEFAULT_TIMEOUT) -> list[Check]:
    """Every check, in the order a mail meets what they check. None writes anything but a probe file it deletes:
    no schema, folder or storage directory is created."""
    checks: list[tuple[str, Callable[[], Check | list[Check]]]] = [
        ("config", partial(check_config, config)),
        ("database", partial(check_database, config.database_url)),
        *((f"imap {q.key}", partial(check_imap, q, timeout, config.daemon.poll_interval)) for q in config.queues),
        ("smtp", partial(check_smtp, config.smtp, timeout)),
        ("templates", partial(check_templates, config.templates_path, [q.key for q in config.queues])),
        ("storage", partial(check_storage, config)),
    ]
    rows: list[Check] = []
    for name, check in checks:
        try:
            found = check()
        except Exception as exc:  # a bug in one check must not hide the others' answers
            found = Check(name, False, f"the check itself failed: {type(exc).__name__}: {first_line(exc)}")
        rows.extend(found if isinstance(found, list) else [found])
    return rows


def check_config(config: Config) -> Check:
    """The file loaded (else mailbot stopped before this); its warnings, such as a literal password, are shown."""
    detail = f"{config.path}: {len(config.queues)} queue(s)"
    return Check("config", True, "; ".join([detail, *config.warnings]))


def check_database(url: str) -> Check:
    """Reachable, and its schema is this version's (never created or migrated here)."""
    shown = make_url(url).render_as_string(hide_password=True)
    try:
        engine = store.make_engine(url, writer=False)
    except (store.SchemaError, ConfigError) as exc:
        return Check("database", False, f"{shown}: {exc}")
    try:
        store.ensure_schema(engine, create=False)
        return Check("database", True, f"{shown}: schema at revision {store.current_revision(engine)}")
    except store.SchemaError as exc:
        return Check("database", False, f"{shown}: {exc}")
    except SQLAlchemyError as exc:
        return Check("database", False, f"{shown}: {first_line(exc)}")
    finally:
        engine.dispose()


def check_imap(queue: QueueConfig, timeout: float, poll_interval: float) -> Check:
    """Login, the inbox, the processed and quarantine folders, and whether IDLE and MOVE are offered.

    Read-only: a missing processed or quarantine folder is reported (`mailbot run` creates it), a missing inbox
    fails. Connects with imapclient directly because ImapSource creates the folders it lacks."""
    cfg = queue.imap
    name, where = f"imap {queue.key}", f"{cfg.username}@{cfg.host}:{cfg.port}"
    context = ssl.create_default_context()
    try:
        client = IMAPClient(cfg.host, port=cfg.port, ssl=cfg.tls == "ssl", ssl_context=context, timeout=timeout)
    except (IMAPClientError, OSError) as exc:
        return Check(name, False, f"{where}: cannot connect: {_imap_error(exc)}")
    step = "STARTTLS"
    try:
        if cfg.tls == "starttls":
            client.starttls(context)
        step = "login"
        client.login(cfg.username, cfg.password)
        step = "capabilities"
        capabilities = set(client.capabilities())
        step = "folders"
        missing = [folder for folder in (cfg.inbox, cfg.processed, cfg.quarantine) if not client.folder_exists(folder)]
        if cfg.inbox in missing:
            return Check(name, False, f"{where}: no folder {cfg.inbox!r} to read ([queues.imap] inbox)")
        messages = client.folder_status(cfg.inbox, [b"MESSAGES"])[b"MESSAGES"]
    except LoginError as exc:
        return Check(name, False, f"{where}: login refused: {_imap_error(exc)}")
    except (IMAPClientError, OSError) as exc:
        return Check(name, False, f"{where}: {step} failed: {_imap_error(exc)}")
    finally:
        _logout(client)
    idle = "IDLE yes" if b"IDLE" in capabilities else f"IDLE no (polled every {poll_interval:g}s)"
    move = "MOVE yes" if b"MOVE" in capabilities else "MOVE no (COPY + EXPUNGE)"
    notes = [f"{folder!r} missing (mailbot run creates it)" for folder in missing]
    return Check(name, True, "; ".join([f"{where}: login ok", f"{cfg.inbox!r}: {messages} message(s)", idle, move,
                                        *notes]))


def _logout(client: IMAPClient) -> None:
    try:
        client.logout()
    except (IMAPClientError, OSError):
        client.shutdown()


def _imap_error(exc: BaseException) -> str:
    """imaplib puts the server's bytes in its errors ("b'[AUTHENTICATIONFAILED] …'"): show them as text.
    (The IMAP branch's mail/imap_errors.describe does this fully; use it here once merged.)"""
    text = first_line(exc)
    if text.startswith(("b'", 'b"')) and text.endswith(text[1]):
        return text[2:-1]
    return text


def check_smtp(smtp: SmtpConfig, timeout: float) -> Check:
    """Connect, TLS as configured (STARTTLS never falls back to plaintext), log in if a username is set; QUIT."""
    where = f"{smtp.host}:{smtp.port}"
    try:
        detail = asyncio.run(_smtp_probe(smtp, timeout))
    except aiosmtplib.SMTPAuthenticationError as exc:
        return Check("smtp", False, f"{where}: login refused: {exc.code} {exc.message}")
    except aiosmtplib.SMTPResponseException as exc:
        return Check("smtp", False, f"{where}: {exc.code} {exc.message}")
    except (aiosmtplib.SMTPException, OSError) as exc:
        return Check("smtp", False, f"{where}: cannot connect: {first_line(exc)}")
    return Check("smtp", True, f"{where}: {detail}")


async def _smtp_probe(smtp: SmtpConfig, timeout: float) -> str:
    client = aiosmtplib.SMTP(hostname=smtp.host, port=smtp.port, use_tls=smtp.tls == "ssl",
                             start_tls=True if smtp.tls == "starttls" else False, timeout=timeout)
    await client.connect()
    try:
        tls = {"ssl": "TLS", "starttls": "STARTTLS", "none": "no TLS"}[smtp.tls]
        if smtp.username and smtp.password is not None:
            await client.login(smtp.username, smtp.password)
            return f"connected ({tls}); login ok as {smtp.username}"
        return f"connected ({tls}); no login configured"
    finally:
        try:
            await client.quit()
        except (aiosmtplib.SMTPException, OSError):
            client.close()


def check_templates(path: Path, queues: list[str]) -> Check:
    """Every mail compiles and renders with its sample contexts, in each language and with each queue's overrides
    (`mailbot templates check` prints the whole list)."""
    problems = [str(problem) for problem in template_check.check(Templates(path), queues)]
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        return Check("templates", False, "; ".join(problems[:3]) + more)
    return Check("templates", True, f"{path}: every mail renders")


def check_storage(config: Config, min_free: int = MIN_FREE) -> list[Check]:
    """The storage folder, and a SQLite database's folder (its journal is written beside it): writable (a probe
    file written, fsynced and deleted) with at least `min_free` bytes free. A folder not made yet is checked where
    mailbot will make it."""
    folders = {"storage": config.storage_path}
    if config.database_url.startswith("sqlite:///") and ":memory:" not in config.database_url:
        database = Path(config.database_url.removeprefix("sqlite:///")).parent
        if database != config.storage_path:
            folders["database folder"] = database
    return [_check_folder(name, folder, min_free) for name, folder in folders.items()]


def _check_folder(name: str, folder: Path, min_free: int) -> Check:
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    prefix = f"{folder}" if existing == folder else f"{folder} (not made yet; checked {existing})"
    try:
        fd, probe = tempfile.mkstemp(prefix=".mailbot-doctor-", dir=existing)
        try:
            os.write(fd, b"\0" * PROBE_SIZE)
            os.fsync(fd)
        finally:
            os.close(fd)
            os.unlink(probe)
        free = shutil.disk_usage(existing).free
    except OSError as exc:
        return Check(name, False, f"{prefix}: not writable: {exc.strerror or exc}")
    if free < min_free:
        return Check(name, False, f"{prefix}: only {_size(free)} free (at least {_size(min_free)} needed)")
    return Check(name, True, f"{prefix}: writable; {_size(free)} free")


def _size(count: int) -> str:
    """1288490188 → "1.2 GiB"."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} bytes"
