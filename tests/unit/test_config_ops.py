"""The [logging] and [metrics] tables: defaults, accepted values, and each wrong value with its one-line error."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mailbot.config import ConfigError, LoggingConfig, MetricsConfig, load_config
from tests.unit.test_config import MINIMAL, write


def test_logging_is_text_at_info_and_metrics_are_off_by_default(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL))
    assert config.logging == LoggingConfig(format="text", level="info")
    assert config.metrics == MetricsConfig(listen=None, outbox_stuck_after=1800.0)


@pytest.mark.parametrize(("tables", "expected"), [
    ('[logging]\nformat = "json"\nlevel = "debug"\n', LoggingConfig("json", "debug")),
    ('[metrics]\nlisten = "127.0.0.1:9464"\n', MetricsConfig(("127.0.0.1", 9464))),
    ('[metrics]\nlisten = "[::1]:9464"\noutbox_stuck_after = 600\n', MetricsConfig(("::1", 9464), 600.0)),
    ('[metrics]\nlisten = "0.0.0.0:9464"\n', MetricsConfig(("0.0.0.0", 9464))),
    ('[metrics]\nlisten = "metrics.example.com:80"\n', MetricsConfig(("metrics.example.com", 80))),
    ('[metrics]\nlisten = ""\n', MetricsConfig(None)),
], ids=["json-debug", "ipv4", "ipv6", "any", "name", "off"])
def test_accepted_values(tmp_path: Path, tables: str, expected: object) -> None:
    config = load_config(write(tmp_path, MINIMAL + "\n" + tables))
    assert expected in (config.logging, config.metrics)


@pytest.mark.parametrize(("tables", "message"), [
    ('[logging]\nformat = "xml"\n', '[logging] format: expected "text" or "json", got \'xml\''),
    ('[logging]\nlevel = "INFO"\n', '[logging] level: expected "debug" or "info" or "warning" or "error", got \'INFO\''),
    ('[logging]\nlevl = "info"\n', '[logging] levl: unknown key; known keys here: format, level (did you mean "level"?)'),
    ('[metrics]\nlisten = "9464"\n', "[metrics] listen: expected host:port with a port 1–65535"),
    ('[metrics]\nlisten = "127.0.0.1:99999"\n', "got '127.0.0.1:99999'"),
    ('[metrics]\nlisten = "http://127.0.0.1:9464"\n', "[metrics] listen: expected host:port"),
    ('[metrics]\nlisten = 9464\n', '[metrics] listen: expected host:port, such as "127.0.0.1:9464", or "" for off, got 9464'),
    ('[metrics]\noutbox_stuck_after = 0\n', "[metrics] outbox_stuck_after: expected a number 1–604800, got 0.0"),
], ids=["format", "level-case", "typo", "no-host", "port-range", "url", "not-a-string", "zero"])
def test_a_wrong_value_is_reported_with_file_key_and_expectation(tmp_path: Path, tables: str, message: str) -> None:
    path = write(tmp_path, MINIMAL + "\n" + tables)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(error.value).startswith(f"{path}: ")
    assert message in str(error.value)


def test_every_required_key_of_the_example_configuration_says_so(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Take each key out of the example in turn: where mailbot then refuses to start, the comment says Required."""
    example = (Path(__file__).parent.parent.parent / "config" / "mailbot.example.toml").read_text()
    example = example.replace("/etc/mailbot/clavesegura.secret", "clavesegura.secret")
    (tmp_path / "clavesegura.secret").write_text("secret\n")
    monkeypatch.setenv("MAILBOT_SMTP_PASSWORD", "x")
    monkeypatch.setenv("MAILBOT_IMAP_PASSWORD_MESADEAYUDA", "y")
    lines = example.splitlines()
    unmarked: list[str] = []
    seen: set[tuple[str, str]] = set()
    table = ""
    for index, line in enumerate(lines):
        table = line if line.startswith("[") else table
        key = re.match(r"([a-z_]+) = ", line)
        if key is None or (table, key[1]) in seen:  # a second queue or level repeats the first one's keys bare
            continue
        seen.add((table, key[1]))
        (tmp_path / "mailbot.toml").write_text("\n".join(lines[:index] + lines[index + 1:]))
        try:
            load_config(tmp_path / "mailbot.toml")
        except ConfigError:
            if not _says_required(lines, index, key[1]):
                unmarked.append(f"{index + 1}: {line}")
    assert unmarked == [], "\n".join(unmarked)


def _says_required(lines: list[str], index: int, key: str) -> bool:
    """Whether the comments of the key's paragraph (back to a blank line or a table) mark it required: "Required: a,
    b" naming it, or else the word "required"."""
    start = index
    while start > 0 and lines[start - 1].strip() and not lines[start - 1].startswith("["):
        start -= 1
    comments = " ".join(line for line in lines[start:index] if line.startswith("#"))
    listed = re.search(r"Required: ([^.]*)", comments)
    if listed:
        return key in re.findall(r"[a-z_]+", listed[1])
    return "required" in comments.lower()
