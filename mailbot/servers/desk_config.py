"""Write the configuration of a desk whose servers run on loopback: the demo's, the tests', the benchmarks'."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

PASSWORD_FILE = "imap.password"
MESSAGE_ID_DOMAIN = "mailbot.example.com"


@dataclass(frozen=True)
class LoopbackQueue:
    key: str
    address: str
    name: str
    imap_user: str
    hours_text: str = "Lunes a viernes de 7:00 a. m. a 7:00 p. m."
    agents: tuple[str, ...] = ()


def write_loopback_config(
    path: Path,
    *,
    db_url: str,
    imap_port: int,
    imap_password: str,
    smtp_port: int,
    queues: Sequence[LoopbackQueue],
    smtp: Mapping[str, object] | None = None,
    daemon: Mapping[str, object] | None = None,
    accounts: Mapping[str, str] | None = None,
) -> Path:
    """A complete mailbot.toml at `path`, its IMAP password in a 0600 file beside it; relative paths stay relative
    to it. `smtp` and `daemon` add keys to those tables (e.g. retry_base)."""
    secret = path.parent / PASSWORD_FILE
    secret.write_text(imap_password + "\n", encoding="utf-8")
    secret.chmod(0o600)
    tables: list[tuple[str, Mapping[str, object]]] = [
        ("[database]", {"url": db_url}),
        ("[storage]", {"path": "storage"}),
        ("[desk]", {"name": "Mesa de ayuda Ejemplo", "case_prefix": "CS", "language": "es",
                    "timezone": "America/Bogota", "portal_url": "https://portal.example.com/csm",
                    "message_id_domain": MESSAGE_ID_DOMAIN}),
        ("[smtp]", {"host": "127.0.0.1", "port": smtp_port, "tls": "none", **(smtp or {})}),
        ("[daemon]", dict(daemon or {})),
        ("[accounts]", dict(accounts or {})),
    ]
    for queue in queues:
        tables.append(("[[queues]]", {"key": queue.key, "address": queue.address, "name": queue.name,
                                      "hours_text": queue.hours_text,
                                      **({"agents": list(queue.agents)} if queue.agents else {})}))
        tables.append(("[queues.imap]", {"host": "127.0.0.1", "port": imap_port, "tls": "none",
                                         "username": queue.imap_user, "password_file": PASSWORD_FILE}))
    body = "".join(
        f"{header}\n" + "".join(f"{_key(key)} = {_value(value)}\n" for key, value in keys.items()) + "\n"
        for header, keys in tables
    )
    path.write_text("# Written for a desk on loopback; the servers' ports change on every run.\n\n" + body,
                    encoding="utf-8")
    return path


def _key(key: str) -> str:
    return key if key.replace("_", "").isalnum() else json.dumps(key)


def _value(value: object) -> str:
    # A JSON string is a valid TOML basic string; numbers are written alike in both.
    return json.dumps(value, ensure_ascii=False)
