"""The [logging] and [metrics] tables: defaults, accepted values, and each wrong value with its one-line error."""

from __future__ import annotations

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
