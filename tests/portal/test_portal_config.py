"""[portal]: every key optional with its documented default, wrong values refused with file, key and expectation."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailbot.config import ConfigError, PortalConfig, load_config

MINIMAL = (Path(__file__).parent.parent / "integration" / "minimal.toml").read_text().replace("DB_URL", "sqlite:///m.db")
EXAMPLE = Path(__file__).parent.parent.parent / "config" / "mailbot.example.toml"


def write(tmp_path: Path, portal: str) -> Path:
    path = tmp_path / "mailbot.toml"
    path.write_text(MINIMAL + ("\n[portal]\n" + portal if portal else ""), encoding="utf-8")
    return path


def test_without_a_portal_table_the_portal_is_on_loopback_at_the_desks_portal_url(tmp_path: Path) -> None:
    portal = load_config(write(tmp_path, "")).portal
    assert portal == PortalConfig(base_url="https://portal.example.com/csm")
    assert (portal.listen_host, portal.listen_port, portal.base_path, portal.secure) == ("127.0.0.1", 8080, "/csm",
                                                                                         True)


def test_every_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILBOT_TEST_PORTAL_SECRET", "s" * 40)
    (tmp_path / "custom.css").write_text("body { color: black; }")
    portal = load_config(write(tmp_path, """\
listen = "[::1]:8443"
base_url = "http://soporte.example.com/"
session_secret_env = "MAILBOT_TEST_PORTAL_SECRET"
trusted_proxies = ["10.0.0.0/8", "127.0.0.1"]
temporary_password_days = 3
session_hours = 2
remember_days = 14
account_cases = true
login_failures_per_account = 3
login_failures_per_client = 10
login_failure_window = 600
resets_per_hour = 2
stylesheet = "custom.css"
""")).portal
    assert portal == PortalConfig("::1", 8443, "http://soporte.example.com", "s" * 40, ("10.0.0.0/8", "127.0.0.1"),
                                  3, 2, 14, True, 3, 10, 600.0, 2, tmp_path / "custom.css")
    assert portal.base_path == "" and not portal.secure


def test_the_example_configuration_documents_the_portal(tmp_path: Path) -> None:
    assert load_config(EXAMPLE, secrets=False).portal.listen_port == 8080


@pytest.mark.parametrize(("portal", "message"), [
    pytest.param('listen = "8080"\n', '[portal] listen: expected HOST:PORT such as "127.0.0.1:8080" or "[::1]:8080", '
                 "got '8080'", id="port only"),
    pytest.param('listen = "127.0.0.1:99999"\n', "[portal] listen: expected HOST:PORT", id="port too high"),
    pytest.param('base_url = "portal.example.com"\n', "[portal] base_url: expected the http:// or https:// address "
                 "customers open, without ? or #, got 'portal.example.com'", id="no scheme"),
    pytest.param('base_url = "https://portal.example.com/?x=1"\n', "[portal] base_url: expected the http://",
                 id="query"),
    pytest.param('session_secret = "short"\n', "[portal] session_secret: expected a secret of at least 32 characters,"
                 " got 5", id="short secret"),
    pytest.param("temporary_password_days = 0\n", "[portal] temporary_password_days: expected an integer 1–90, got 0",
                 id="no days"),
    pytest.param('account_cases = "yes"\n', "[portal] account_cases: expected true or false, got 'yes'", id="flag"),
    pytest.param('trusted_proxies = ["proxy.example.com"]\n', "[portal] trusted_proxies[0]: expected an IP address "
                 "or network, or \"*\", got 'proxy.example.com'", id="proxy by name"),
    pytest.param('stylesheet = "missing.css"\n', "[portal] stylesheet: expected a CSS file;", id="no stylesheet"),
    pytest.param("login_failures = 3\n", '[portal] login_failures: unknown key; known keys here:', id="unknown key"),
])
def test_a_wrong_portal_key_is_one_line_with_file_key_and_expectation(tmp_path: Path, portal: str,
                                                                       message: str) -> None:
    path = write(tmp_path, portal)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(error.value).startswith(f"{path}: {message}")


def test_a_portal_url_that_is_no_address_needs_a_base_url(tmp_path: Path) -> None:
    path = tmp_path / "mailbot.toml"
    path.write_text(MINIMAL.replace('portal_url = "https://portal.example.com/csm"', 'portal_url = "el portal"'))
    with pytest.raises(ConfigError, match=r"\[portal\] base_url: missing; \[desk\] portal_url is not an http"):
        load_config(path)
    path.write_text(path.read_text() + '\n[portal]\nbase_url = "https://portal.example.com"\n')
    assert load_config(path).portal.base_url == "https://portal.example.com"
