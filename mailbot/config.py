"""Read the TOML configuration once into frozen, validated settings; errors name the file, the key and what is expected."""

from __future__ import annotations

import os
import re
import tomllib
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .config_escalation import (
    EscalationConfig,
    EscalationLevel,
    SlaTarget,
    read_calendars,
    read_escalation,
    read_levels,
    read_sla,
)
from .config_table import ADDRESS, Reader, Table, did_you_mean, unknown_key
from .config_table import ConfigError as ConfigError
from .desk.calendar import ALWAYS_OPEN, BusinessCalendar

TlsMode = Literal["none", "starttls", "ssl"]
TLS_MODES: tuple[TlsMode, ...] = ("none", "starttls", "ssl")
LANGUAGES = ("es", "en")
CONFIG_ENV = "MAILBOT_CONFIG"
# The repository's templates: ./run installs mailbot in editable mode, so they sit beside the package.
# Folders of templates/ that are not a queue's overrides: the languages and the portal's pages.
RESERVED_QUEUE_KEYS = frozenset({"es", "en", "portal"})
DEFAULT_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
TABLES = ("database", "storage", "templates", "desk", "smtp", "queues", "accounts", "daemon", "limits", "calendars",
          "sla", "escalation", "logging", "metrics", "portal")
LogFormat = Literal["text", "json"]
LogLevel = Literal["debug", "info", "warning", "error"]
LOG_FORMATS: tuple[LogFormat, ...] = ("text", "json")
LOG_LEVELS: tuple[LogLevel, ...] = ("debug", "info", "warning", "error")
# host:port, the host a name, an IPv4 address or a bracketed IPv6 address: "127.0.0.1:9464", "[::1]:9464".
LISTEN = r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(?P<port>[0-9]{1,5})"
# RFC 8601 §2.2: an authserv-id is a `value`, in practice an RFC 2045 token and (§2.5) SHOULD be a domain name.
AUTHSERV_ID = r'[^\s()<>@,;:\\"/\[\]?=]+'
# The key that signs our Message-IDs: 32 characters at least (128 bits as hex), so it cannot be guessed.
SECRET_MIN_LENGTH = 32


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
    """One published address. `calendar` is the [calendars] table `calendar_name` names; `escalation_levels` is the
    queue's own ladder, or None for the global one (see `Config.ladder_for`)."""

    key: str
    address: str
    name: str
    hours_text: str
    imap: ImapConfig
    agents: tuple[str, ...]
    agents_group: str | None
    calendar_name: str
    calendar: BusinessCalendar
    escalation_levels: tuple[EscalationLevel, ...] | None

    @property
    def agent_recipients(self) -> tuple[str, ...]:
        """Who hears of the queue's cases at level 0: the agents' list when there is one, else each agent."""
        return (self.agents_group,) if self.agents_group else self.agents


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
    connections: int = 4  # SMTP connections one drain sends over at once


@dataclass(frozen=True)
class DeskConfig:
    """`secret` is None when not configured (mailbot then keeps a generated one in the database) and whenever the
    configuration was loaded with secrets=False."""

    name: str
    case_prefix: str
    language: str
    timezone: str
    portal_url: str
    message_id_domain: str
    secret: str | None = field(default=None, repr=False)
    trusted_authserv_ids: tuple[str, ...] = ()
    agents_server_binds_sender: bool = False  # whether a trusted pass for an agent's own address proves the agent
    reopen_closed: bool = False

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class DaemonConfig:
    poll_interval: float = 60.0
    batch_size: int = 100


@dataclass(frozen=True)
class LimitsConfig:
    """Automatic mail per recipient mailbox (acknowledgements, credentials, reminders: all together); the sizes of
    an incoming message (as fetched, encoded) and of one attachment (decoded), in bytes; and how many people
    customers' Cc may put on one case (each gets every agent reply)."""

    auto_replies_per_hour: int = 5
    auto_replies_per_day: int = 20
    max_message_size: int = 25_000_000
    max_attachment_size: int = 20_000_000
    participants_per_case: int = 10


@dataclass(frozen=True)
class LoggingConfig:
    """`format` "text" (the default, for a person at a terminal or journald) or "json" (one object per line)."""

    format: LogFormat = "text"
    level: LogLevel = "info"


@dataclass(frozen=True)
class MetricsConfig:
    """`listen` is (host, port) of the /metrics and /healthz server, or None when it is off. /healthz fails when
    the oldest due reply has waited `outbox_stuck_after` seconds, or replies wait that long and none is sent."""

    listen: tuple[str, int] | None = None
    outbox_stuck_after: float = 1800.0


@dataclass(frozen=True)
class PortalConfig:
    """The customer portal (`mailbot portal`): where it listens, the address customers use, and its limits.

    `base_url` is always set ([desk] portal_url unless given). `session_secret` signs the portal's forms; None when
    not configured (the portal then makes one per process) and whenever the configuration was loaded without
    secrets."""

    listen_host: str = "127.0.0.1"
    listen_port: int = 8080
    base_url: str = ""
    session_secret: str | None = field(default=None, repr=False)
    trusted_proxies: tuple[str, ...] = ("127.0.0.1",)
    temporary_password_days: int = 7
    session_hours: int = 12
    remember_days: int = 30
    account_cases: bool = False
    login_failures_per_account: int = 5
    login_failures_per_client: int = 20
    login_failure_window: float = 900.0
    resets_per_hour: int = 3
    stylesheet: Path | None = None

    @property
    def secure(self) -> bool:
        """Served over HTTPS (behind a proxy that terminates TLS): cookies are then `Secure`."""
        return self.base_url.startswith("https://")

    @property
    def base_path(self) -> str:
        """The path the portal lives under: "" for the root, else "/csm" (no trailing slash)."""
        return urllib.parse.urlsplit(self.base_url).path.rstrip("/")


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
    limits: LimitsConfig
    calendars: Mapping[str, BusinessCalendar]
    sla: Mapping[int, SlaTarget]
    escalation: EscalationConfig
    portal: PortalConfig = PortalConfig()
    warnings: tuple[str, ...] = ()
    logging: LoggingConfig = LoggingConfig()
    metrics: MetricsConfig = MetricsConfig()

    def queue(self, key: str) -> QueueConfig:
        for queue in self.queues:
            if queue.key == key:
                return queue
        raise KeyError(key)

    def account_for(self, address: str) -> str:
        """The organisation a contact belongs to: the [accounts] entry for its domain, else the domain."""
        domain = address.rpartition("@")[2].lower()
        return self.accounts.get(domain, domain)

    def sla_for(self, priority: int) -> SlaTarget:
        """The targets of priority 1–4 (the number of "3 - Moderada"); KeyError for another number."""
        return self.sla[priority]

    def calendar_for(self, queue: str, priority: int) -> BusinessCalendar:
        """The clock a case's SLA and escalation run on: 24/7 for priority 1, whose incidents the desk attends at
        any hour, else the queue's calendar."""
        return ALWAYS_OPEN if priority == 1 else self.queue(queue).calendar

    def ladder_for(self, queue: str) -> tuple[EscalationLevel, ...]:
        """The levels above the agents, the queue's own or else the global ones: level n is `ladder_for(q)[n - 1]`;
        level 0 is the queue's agents (`QueueConfig.agent_recipients`). Empty unless configured."""
        own = self.queue(queue).escalation_levels
        return self.escalation.levels if own is None else own

    def is_agent(self, queue: str, address: str) -> bool:
        """Whether `address` is one of the queue's agents, case-insensitively. The address alone proves nothing: the
        mail's origin is for a trusted Authentication-Results header to show ([desk] trusted_authserv_ids)."""
        return address.strip().lower() in self.queue(queue).agents


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
    reader = Reader(file, secrets=secrets, own_addresses=_own_addresses(data.get("queues")))
    for key in data:
        if key not in TABLES:
            raise reader.error(key, unknown_key(key, TABLES, "table"))

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

    desk = _desk(reader.table(data, "desk"))
    calendars = read_calendars(reader, data, desk.timezone)
    return Config(
        path=file,
        database_url=_resolve_sqlite(url, reader),
        storage_path=storage_path,
        templates_path=templates_path,
        desk=desk,
        smtp=_smtp(reader.table(data, "smtp")),
        queues=_queues(reader, data.get("queues"), calendars),
        accounts=_accounts(reader, data.get("accounts", {})),
        daemon=_daemon(reader.table(data, "daemon", required=False)),
        limits=_limits(reader.table(data, "limits", required=False)),
        calendars=calendars,
        sla=read_sla(reader.table(data, "sla", required=False)),
        escalation=read_escalation(reader.table(data, "escalation", required=False)),
        portal=_portal(reader.table(data, "portal", required=False), desk),
        warnings=tuple(reader.warnings),
        logging=_logging(reader.table(data, "logging", required=False)),
        metrics=_metrics(reader.table(data, "metrics", required=False)),
    )


def _own_addresses(queues: Any) -> frozenset[str]:
    """Every [[queues]] address, read ahead (and checked with its queue) so that agents and escalation lists, read
    before the last queue, can refuse them."""
    if not isinstance(queues, list):
        return frozenset()
    return frozenset(str(queue.get("address", "")).strip().lower() for queue in queues if isinstance(queue, dict))


def _resolve_sqlite(url: str, reader: Reader) -> str:
    """sqlite:///relative.db is taken relative to the configuration file, like every other path."""
    prefix = "sqlite:///"
    if not url.startswith(("sqlite", "postgresql")):
        raise reader.error("database.url", 'expected a "sqlite:///…" or "postgresql+psycopg://…" URL', url)
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != prefix + ":memory:":
        return prefix + str(reader.resolve(url[len(prefix) :]))
    if url.startswith("postgresql"):
        driver = _missing_driver(url)
        if driver == "psycopg":
            raise reader.error("database.url", "needs the psycopg driver, which is not installed: pip install "
                                              "'mailbot[postgresql]'", url.split(":", 1)[0])
        if driver:
            raise reader.error("database.url", f"names the {driver} driver, which is not installed; write "
                                              '"postgresql+psycopg://…" (psycopg comes with mailbot[postgresql])',
                               url.split(":", 1)[0])
    return url


def _missing_driver(url: str) -> str | None:
    """The name of the database driver `url` needs when it cannot be imported (told with the file and the key, not
    at the first connection), else None."""
    from sqlalchemy import make_url  # here: reading a configuration imports no database code otherwise
    from sqlalchemy.exc import NoSuchModuleError

    try:
        make_url(url).get_dialect().import_dbapi()
    except ModuleNotFoundError as exc:
        return exc.name or "database"
    except NoSuchModuleError:  # a driver SQLAlchemy does not know at all ("postgresql+nosuchdriver")
        return url.split(":", 1)[0].partition("+")[2] or "database"
    except Exception:  # a malformed URL: the engine says what is wrong with it, with the file
        return None
    return None


def _desk(table: Table) -> DeskConfig:
    desk = DeskConfig(
        name=table.text("name"),
        case_prefix=table.text("case_prefix", "CS", pattern="[A-Z]{1,6}", expected="1–6 capital letters"),
        language=table.choice("language", LANGUAGES, "es"),
        timezone=table.text("timezone", "America/Bogota"),
        portal_url=table.text("portal_url", expected="the URL where customers log in"),
        message_id_domain=table.text(
            "message_id_domain", pattern=r"[A-Za-z0-9.-]+\.[A-Za-z]{2,}", expected="a domain name such as example.com"
        ),
        secret=table.secret("secret", required=False, min_length=SECRET_MIN_LENGTH),
        trusted_authserv_ids=table.text_list(
            "trusted_authserv_ids", AUTHSERV_ID, 'the authserv-id of a mail server, such as "mx.example.com"',
            '["mx.example.com"]'),
        agents_server_binds_sender=table.flag("agents_server_binds_sender", DeskConfig.agents_server_binds_sender),
        reopen_closed=table.flag("reopen_closed", DeskConfig.reopen_closed),
    )
    try:
        ZoneInfo(desk.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise table.error("timezone", 'expected an IANA time zone such as "America/Bogota"', desk.timezone)
    table.done()
    return desk


def _smtp(table: Table) -> SmtpConfig:
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
        connections=table.integer("connections", 4, 1, 32),
    )
    if smtp.username and smtp.password is None and table.reader.secrets:
        raise table.error("password_env", "username is set, so a password is needed (password_env or password_file)")
    table.done()
    return smtp


def _queues(reader: Reader, data: Any, calendars: Mapping[str, BusinessCalendar]) -> tuple[QueueConfig, ...]:
    if not isinstance(data, list) or not data:
        raise reader.error("queues", "expected at least one [[queues]] table")
    queues: list[QueueConfig] = []
    for index, item in enumerate(data):
        table = Table(reader, f"queues.{index}", item)
        key = table.text("key", pattern="[a-z0-9][a-z0-9_.-]*", expected="a short lower-case name such as mesadeayuda")
        if key in RESERVED_QUEUE_KEYS:  # templates/<key>/ holds a queue's overrides; these folders are taken
            raise table.error("key", f"expected a name other than {', '.join(sorted(RESERVED_QUEUE_KEYS))}", key)
        table.name = f"queues.{key}"
        address = table.text("address", pattern=ADDRESS, expected="an e-mail address")
        if "imap" not in item:
            raise reader.error(f"queues.{key}.imap", "missing table; every queue needs its [queues.imap]")
        imap = Table(reader, f"queues.{key}.imap", item["imap"])
        table.seen.update(("imap", "escalation_levels"))
        calendar = _calendar_name(table, calendars)
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
            agents=table.addresses("agents"),
            agents_group=table.address("agents_group"),
            calendar_name=calendar,
            calendar=calendars[calendar],
            escalation_levels=(read_levels(reader, f"{table.name}.escalation_levels", item["escalation_levels"])
                               if "escalation_levels" in item else None),
        )
        imap.done()
        table.done()
        if any(q.key == key for q in queues):
            raise table.error("key", "expected a key no other queue uses", key)
        if any(q.address == queue.address for q in queues):
            raise table.error("address", "expected an address no other queue uses", queue.address)
        queues.append(queue)
    return tuple(queues)


def _calendar_name(table: Table, calendars: Mapping[str, BusinessCalendar]) -> str:
    """The queue's calendar: a [calendars] table's name, by default the first one."""
    name = table.text("calendar", next(iter(calendars)))
    if name not in calendars:
        raise table.error("calendar", f"expected the name of a [calendars.NAME] table: {', '.join(calendars)}"
                                      f"{did_you_mean(name, calendars)}", name)
    return name


def _accounts(reader: Reader, data: Any) -> Mapping[str, str]:
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise reader.error("accounts", 'expected a table of "domain" = "Organisation name"', data)
    return {domain.lower(): name for domain, name in data.items()}


def _daemon(table: Table) -> DaemonConfig:
    daemon = DaemonConfig(
        poll_interval=table.number("poll_interval", 60.0, 0.1, 86400),
        batch_size=table.integer("batch_size", 100, 1, 10000),
    )
    table.done()
    return daemon


def _limits(table: Table) -> LimitsConfig:
    default = LimitsConfig()
    message_size = table.size("max_message_size", default.max_message_size, 10_000, 2_000_000_000)
    limits = LimitsConfig(
        auto_replies_per_hour=table.integer("auto_replies_per_hour", default.auto_replies_per_hour, 1, 1000),
        auto_replies_per_day=table.integer("auto_replies_per_day", default.auto_replies_per_day, 1, 10000),
        max_message_size=message_size,
        # An attachment cannot be larger than the message that carries it, so the default gives way to a lower limit.
        max_attachment_size=table.size("max_attachment_size", min(default.max_attachment_size, message_size),
                                       1_000, 2_000_000_000),
        participants_per_case=table.integer("participants_per_case", default.participants_per_case, 0, 100),
    )
    if limits.auto_replies_per_day < limits.auto_replies_per_hour:
        raise table.error("auto_replies_per_day",
                          f"expected at least auto_replies_per_hour ({limits.auto_replies_per_hour})",
                          limits.auto_replies_per_day)
    if limits.max_attachment_size > limits.max_message_size:
        raise table.error("max_attachment_size",
                          f"expected at most max_message_size ({limits.max_message_size:,} bytes)",
                          table.data["max_attachment_size"])
    table.done()
    return limits


def _logging(table: Table) -> LoggingConfig:
    settings = LoggingConfig(format=table.choice("format", LOG_FORMATS, LoggingConfig.format),
                             level=table.choice("level", LOG_LEVELS, LoggingConfig.level))
    table.done()
    return settings


def _metrics(table: Table) -> MetricsConfig:
    listen = table.text("listen", "", expected='host:port, such as "127.0.0.1:9464", or "" for off')
    found = re.fullmatch(LISTEN, listen)
    if listen and (found is None or not 1 <= int(found["port"]) <= 65535):
        raise table.error("listen", 'expected host:port with a port 1–65535, such as "127.0.0.1:9464", or "" for '
                                    'off', listen)
    metrics = MetricsConfig(
        listen=(found["host"].strip("[]"), int(found["port"])) if found else None,
        outbox_stuck_after=table.number("outbox_stuck_after", MetricsConfig.outbox_stuck_after, 1, 7 * 86400),
    )
    table.done()
    return metrics


# IPv4 or IPv6 addresses or networks (uvicorn's forwarded_allow_ips), or "*" for any.
_PROXY = r"\*|[0-9a-f.:]+(/[0-9]{1,3})?"


def _portal(table: Table, desk: DeskConfig) -> PortalConfig:
    default = PortalConfig()
    listen = table.text("listen", f"{default.listen_host}:{default.listen_port}")
    host, port = _host_port(table, listen)
    base_url = table.text("base_url", "")
    if not _is_base_url(base_url or desk.portal_url):
        raise (table.error("base_url", "expected the http:// or https:// address customers open, without ? or #",
                           base_url) if base_url else
               table.error("base_url", "missing; [desk] portal_url is not an http:// or https:// address, so give "
                                       "the portal's own", desk.portal_url))
    stylesheet = table.text("stylesheet", "")
    portal = PortalConfig(
        listen_host=host,
        listen_port=port,
        base_url=(base_url or desk.portal_url).rstrip("/"),
        session_secret=table.secret("session_secret", required=False, min_length=SECRET_MIN_LENGTH),
        trusted_proxies=table.text_list("trusted_proxies", _PROXY, 'an IP address or network, or "*"',
                                        '["127.0.0.1"]') if "trusted_proxies" in table.data else
        default.trusted_proxies,
        temporary_password_days=table.integer("temporary_password_days", default.temporary_password_days, 1, 90),
        session_hours=table.integer("session_hours", default.session_hours, 1, 24 * 7),
        remember_days=table.integer("remember_days", default.remember_days, 1, 365),
        account_cases=table.flag("account_cases", default.account_cases),
        login_failures_per_account=table.integer("login_failures_per_account",
                                                 default.login_failures_per_account, 1, 1000),
        login_failures_per_client=table.integer("login_failures_per_client", default.login_failures_per_client,
                                                1, 100_000),
        login_failure_window=table.number("login_failure_window", default.login_failure_window, 60, 86400),
        resets_per_hour=table.integer("resets_per_hour", default.resets_per_hour, 1, 100),
        stylesheet=table.reader.resolve(stylesheet) if stylesheet else None,
    )
    if portal.stylesheet is not None and not portal.stylesheet.is_file():
        raise table.error("stylesheet", f"expected a CSS file; {portal.stylesheet} is not one", stylesheet)
    table.done()
    return portal


def _host_port(table: Table, listen: str) -> tuple[str, int]:
    """ "127.0.0.1:8080", "[::1]:8080" or "0.0.0.0:80" → (host, port)."""
    host, _, port = listen.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise table.error("listen", 'expected HOST:PORT such as "127.0.0.1:8080" or "[::1]:8080"', listen)
    return host, int(port)


def _is_base_url(url: str) -> bool:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not parts.query and not parts.fragment
