"""Read the TOML configuration once into frozen, validated settings; errors name the file, the key and what is expected."""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

TlsMode = Literal["none", "starttls", "ssl"]
TLS_MODES: tuple[TlsMode, ...] = ("none", "starttls", "ssl")
LANGUAGES = ("es", "en")
CONFIG_ENV = "MAILBOT_CONFIG"
# The repository's templates: ./run installs mailbot in editable mode, so they sit beside the package.
DEFAULT_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

T = TypeVar("T")


class ConfigError(Exception):
    """A configuration mistake a person can fix; str() says where and what is expected."""


@dataclass(frozen=True)
class ImapConfig:
    host: str
    port: int
    tls: TlsMode
    username: str
    password: str = field(repr=False)
    inbox: str = "INBOX"
    processed: str = "Procesados"
    quarantine: str = "Cuarentena"


@dataclass(frozen=True)
class QueueConfig:
    key: str
    address: str
    name: str
    hours_text: str
    imap: ImapConfig


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    tls: TlsMode
    username: str | None
    password: str | None = field(repr=False)
    from_name: str
    timeout: float = 30.0
    max_attempts: int = 12
    retry_base: float = 30.0
    retry_cap: float = 3600.0


@dataclass(frozen=True)
class DeskConfig:
    name: str
    case_prefix: str
    language: str
    timezone: str
    portal_url: str
    message_id_domain: str

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class DaemonConfig:
    poll_interval: float = 60.0
    batch_size: int = 100


@dataclass(frozen=True)
class Config:
    path: Path
    database_url: str
    storage_path: Path
    templates_path: Path
    desk: DeskConfig
    smtp: SmtpConfig
    queues: tuple[QueueConfig, ...]
    accounts: Mapping[str, str]
    daemon: DaemonConfig
    warnings: tuple[str, ...] = ()

    def queue(self, key: str) -> QueueConfig:
        for queue in self.queues:
            if queue.key == key:
                return queue
        raise KeyError(key)

    def account_for(self, address: str) -> str:
        """The organisation a contact belongs to: the [accounts] entry for its domain, else the domain."""
        domain = address.rpartition("@")[2].lower()
        return self.accounts.get(domain, domain)


class _Table:
    """One TOML table being read: every getter names file and key in its error, unknown keys are refused."""

    def __init__(self, reader: _Reader, name: str, data: Any) -> None:
        if not isinstance(data, dict):
            raise reader.error(name, "expected a table", data)
        self.reader, self.name, self.data = reader, name, data
        self.seen: set[str] = set()

    def _get(self, key: str, kind: type[T], default: T | None, expected: str) -> T:
        self.seen.add(key)
        if key not in self.data:
            if default is None:
                raise self.reader.error(f"{self.name}.{key}", f"missing; expected {expected}{self._typo_of(key)}")
            return default
        value = self.data[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or isinstance(value, bool) is not (kind is bool):
            raise self.reader.error(f"{self.name}.{key}", f"expected {expected}", value)
        return value

    def _typo_of(self, key: str) -> str:
        """ (is "hots" a typo?) when an unknown key here looks like the missing one."""
        unread = [k for k in self.data if k not in self.seen]
        close = difflib.get_close_matches(key, unread, n=1, cutoff=0.6)
        return f' (is "{close[0]}" a typo?)' if close else ""

    def text(self, key: str, default: str | None = None, pattern: str | None = None, expected: str = "") -> str:
        value = self._get(key, str, default, expected or "a string").strip()
        if not value and default is None:
            raise self.reader.error(f"{self.name}.{key}", f"expected {expected or 'a non-empty string'}", value)
        if pattern and not re.fullmatch(pattern, value):
            raise self.reader.error(f"{self.name}.{key}", f"expected {expected}", value)
        return value

    def optional_text(self, key: str) -> str | None:
        return self.text(key, default="") or None

    def integer(self, key: str, default: int | None, low: int, high: int) -> int:
        value = self._get(key, int, default, f"an integer {low}–{high}")
        if not low <= value <= high:
            raise self.reader.error(f"{self.name}.{key}", f"expected an integer {low}–{high}", value)
        return value

    def number(self, key: str, default: float, low: float, high: float) -> float:
        value = self._get(key, float, default, f"a number of seconds {low:g}–{high:g}")
        if not low <= value <= high:
            raise self.reader.error(f"{self.name}.{key}", f"expected a number {low:g}–{high:g}", value)
        return value

    def choice(self, key: str, choices: tuple[T, ...], default: T | None = None) -> T:
        expected = " or ".join(f'"{c}"' for c in choices)
        value = self._get(key, str, default, expected)
        if value not in choices:
            raise self.reader.error(f"{self.name}.{key}", f"expected {expected}", value)
        return value

    def secret(self, key: str, required: bool) -> str | None:
        """A password from `<key>_env` (an environment variable's name), `<key>_file`, or a literal `<key>`."""
        env_name = self.optional_text(f"{key}_env")
        file_name = self.optional_text(f"{key}_file")
        literal = self._get(key, str, "", "a string") if key in self.data else None
        given = [k for k, v in ((f"{key}_env", env_name), (f"{key}_file", file_name), (key, literal)) if v]
        if len(given) > 1:
            raise self.reader.error(f"{self.name}.{key}", f"give only one of {', '.join(given)}")
        if not self.reader.secrets:
            return None
        if env_name:
            if env_name not in os.environ:
                raise self.reader.error(f"{self.name}.{key}_env", f"environment variable {env_name} is not set")
            return os.environ[env_name]
        if file_name:
            path = self.reader.resolve(file_name)
            try:
                return path.read_text(encoding="utf-8").rstrip("\r\n")
            except OSError as exc:
                raise self.reader.error(f"{self.name}.{key}_file", f"cannot read {path}: {exc.strerror}") from None
        if literal:
            self.reader.warnings.append(
                f"{self.reader.path}: [{self.name}] {key}: a literal password is in the file; "
                f"prefer {key}_env or {key}_file"
            )
            return literal
        if required:
            raise self.reader.error(f"{self.name}.{key}_env",
                                    f"missing; expected password_env or password_file{self._typo_of(key + '_file')}")
        return None

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.seen)
        if unknown:
            raise self.reader.error(
                f"{self.name}.{unknown[0]}", f"unknown key; known keys here: {', '.join(sorted(self.seen))}"
            )


@dataclass
class _Reader:
    path: Path
    secrets: bool = True
    warnings: list[str] = field(default_factory=list)

    def error(self, key: str, expectation: str, got: object = None) -> ConfigError:
        section, _, name = key.rpartition(".")
        where = f"[{section}] {name}" if section else f"[{name}]"
        suffix = "" if got is None else f", got {got!r}"
        return ConfigError(f"{self.path}: {where}: {expectation}{suffix}")

    def resolve(self, value: str) -> Path:
        """Relative paths are relative to the configuration file, so the daemon's working folder doesn't matter."""
        path = Path(value).expanduser()
        return path if path.is_absolute() else (self.path.parent / path).resolve()

    def table(self, data: dict[str, Any], name: str, required: bool = True) -> _Table:
        if name not in data and not required:
            return _Table(self, name, {})
        if name not in data:
            raise self.error(name, "missing table")
        return _Table(self, name, data[name])


def load_config(path: str | os.PathLike[str] | None = None, secrets: bool = True) -> Config:
    """Read and validate the configuration named by `path`, else by $MAILBOT_CONFIG.

    With `secrets=False` (commands that only look at the database) passwords are neither read nor required."""
    if path is None:
        path = os.environ.get(CONFIG_ENV)
        if not path:
            raise ConfigError(f"no configuration: pass --config FILE or set {CONFIG_ENV}")
    file = Path(path).expanduser().resolve()
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{file}: no such file") from None
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{file}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from None
    reader = _Reader(file, secrets=secrets)
    known = {"database", "storage", "templates", "desk", "smtp", "queues", "accounts", "daemon"}
    for key in data:
        if key not in known:
            raise reader.error(key, f"unknown table; known tables: {', '.join(sorted(known))}")

    database = reader.table(data, "database")
    url = database.text("url", expected='a SQLAlchemy URL such as "sqlite:///var/mailbot.db"')
    database.done()

    storage = reader.table(data, "storage", required=False)
    storage_path = reader.resolve(storage.text("path", default="var"))
    storage.done()

    templates = reader.table(data, "templates", required=False)
    templates_path = reader.resolve(templates.text("path", default=str(DEFAULT_TEMPLATES)))
    if not templates_path.is_dir():
        raise reader.error("templates.path", f"expected a folder of mail templates; {templates_path} is not one "
                           "(copy the templates/ folder of mailbot and point this key at it)")
    templates.done()

    config = Config(
        path=file,
        database_url=_resolve_sqlite(url, reader),
        storage_path=storage_path,
        templates_path=templates_path,
        desk=_desk(reader.table(data, "desk")),
        smtp=_smtp(reader.table(data, "smtp")),
        queues=_queues(reader, data.get("queues")),
        accounts=_accounts(reader, data.get("accounts", {})),
        daemon=_daemon(reader.table(data, "daemon", required=False)),
        warnings=tuple(reader.warnings),
    )
    return config


def _resolve_sqlite(url: str, reader: _Reader) -> str:
    """sqlite:///relative.db is taken relative to the configuration file, like every other path."""
    prefix = "sqlite:///"
    if not url.startswith(("sqlite", "postgresql")):
        raise reader.error("database.url", 'expected a "sqlite:///…" or "postgresql+psycopg://…" URL', url)
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != prefix + ":memory:":
        return prefix + str(reader.resolve(url[len(prefix) :]))
    return url


def _desk(table: _Table) -> DeskConfig:
    desk = DeskConfig(
        name=table.text("name"),
        case_prefix=table.text("case_prefix", "CS", pattern="[A-Z]{1,6}", expected="1–6 capital letters"),
        language=table.choice("language", LANGUAGES, "es"),
        timezone=table.text("timezone", "America/Bogota"),
        portal_url=table.text("portal_url", expected="the URL where customers log in"),
        message_id_domain=table.text(
            "message_id_domain", pattern=r"[A-Za-z0-9.-]+\.[A-Za-z]{2,}", expected="a domain name such as example.com"
        ),
    )
    try:
        ZoneInfo(desk.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise table.reader.error("desk.timezone", 'expected an IANA time zone such as "America/Bogota"', desk.timezone)
    table.done()
    return desk


def _smtp(table: _Table) -> SmtpConfig:
    smtp = SmtpConfig(
        host=table.text("host"),
        port=table.integer("port", None, 1, 65535),
        tls=table.choice("tls", TLS_MODES),
        username=table.optional_text("username"),
        password=table.secret("password", required=False),
        from_name=table.text("from_name", ""),
        timeout=table.number("timeout", 30.0, 1, 600),
        max_attempts=table.integer("max_attempts", 12, 1, 100),
        retry_base=table.number("retry_base", 30.0, 0, 86400),
        retry_cap=table.number("retry_cap", 3600.0, 0, 7 * 86400),
    )
    if smtp.username and smtp.password is None and table.reader.secrets:
        raise table.reader.error("smtp.password_env", "username is set, so a password is needed (password_env or password_file)")
    table.done()
    return smtp


def _queues(reader: _Reader, data: Any) -> tuple[QueueConfig, ...]:
    if not isinstance(data, list) or not data:
        raise reader.error("queues", "expected at least one [[queues]] table")
    queues: list[QueueConfig] = []
    for index, item in enumerate(data):
        table = _Table(reader, f"queues.{index}", item)
        key = table.text("key", pattern="[a-z0-9][a-z0-9_.-]*", expected="a short lower-case name such as mesadeayuda")
        table.name = f"queues.{key}"
        address = table.text("address", pattern=r"[^@\s]+@[^@\s]+", expected="an e-mail address")
        if "imap" not in item:
            raise reader.error(f"queues.{key}.imap", "missing table; every queue needs its [queues.imap]")
        imap = _Table(reader, f"queues.{key}.imap", item["imap"])
        table.seen.add("imap")
        queue = QueueConfig(
            key=key,
            address=address.lower(),
            name=table.text("name", key),
            hours_text=table.text("hours_text", ""),
            imap=ImapConfig(
                host=imap.text("host"),
                port=imap.integer("port", None, 1, 65535),
                tls=imap.choice("tls", TLS_MODES),
                username=imap.text("username"),
                password=imap.secret("password", required=True) or "",
                inbox=imap.text("inbox", "INBOX"),
                processed=imap.text("processed", "Procesados"),
                quarantine=imap.text("quarantine", "Cuarentena"),
            ),
        )
        imap.done()
        table.done()
        if any(q.key == key for q in queues):
            raise reader.error(f"queues.{key}.key", "expected a key no other queue uses", key)
        if any(q.address == queue.address for q in queues):
            raise reader.error(f"queues.{key}.address", "expected an address no other queue uses", queue.address)
        queues.append(queue)
    return tuple(queues)


def _accounts(reader: _Reader, data: Any) -> Mapping[str, str]:
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise reader.error("accounts", 'expected a table of "domain" = "Organisation name"', data)
    return {domain.lower(): name for domain, name in data.items()}


def _daemon(table: _Table) -> DaemonConfig:
    daemon = DaemonConfig(
        poll_interval=table.number("poll_interval", 60.0, 0.1, 86400),
        batch_size=table.integer("batch_size", 100, 1, 10000),
    )
    table.done()
    return daemon
