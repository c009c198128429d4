"""Configuration errors name the file, the key and what is expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailbot.config import ConfigError, load_config

MINIMAL = (Path(__file__).parent.parent / "integration" / "minimal.toml").read_text().replace("DB_URL", "sqlite:///m.db")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mailbot.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_minimal_configuration_loads_with_documented_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL))
    assert config.database_url == f"sqlite:///{tmp_path / 'm.db'}"
    assert config.storage_path == tmp_path / "var"
    assert (config.desk.case_prefix, config.desk.language, config.desk.timezone) == ("CS", "es", "America/Bogota")
    queue = config.queues[0]
    assert (queue.imap.inbox, queue.imap.processed, queue.imap.quarantine) == ("INBOX", "Procesados", "Cuarentena")
    assert config.account_for("Ana@Transportes.Example.org") == "transportes.example.org"
    assert any("literal password" in w for w in config.warnings)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("port = 25", 'port = "smtp"', "[smtp] port: expected an integer 1–65535, got 'smtp'"),
        ("port = 25", "port = 70000", "[smtp] port: expected an integer 1–65535, got 70000"),
        ('tls = "none"\n\n[[queues]]', 'tls = "yes"\n\n[[queues]]', '[smtp] tls: expected "none" or "starttls" or "ssl", got \'yes\''),
        ('name = "Mesa de ayuda Ejemplo"\n', "", "[desk] name: missing; expected a string"),
        ("[desk]\n", '[desk]\ntimezone = "Bogota"\n', "[desk] timezone: expected an IANA time zone"),
        ("[desk]\n", '[desk]\ncase_prefix = "cs-"\n', "[desk] case_prefix: expected 1–6 capital letters, got 'cs-'"),
        ("[desk]\n", "[desk]\nlanguaje = \"es\"\n", "[desk] languaje: unknown key; known keys here:"),
        ('address = "mesadeayuda@example.com"', 'address = "mesadeayuda"', "[queues.mesadeayuda] address: expected an e-mail address"),
        ('password = "not-used-by-these-tests"', 'password_env = "MAILBOT_TEST_UNSET_VARIABLE"',
         "[queues.mesadeayuda.imap] password_env: environment variable MAILBOT_TEST_UNSET_VARIABLE is not set"),
        ('password = "not-used-by-these-tests"', 'password_file = "missing.secret"',
         "[queues.mesadeayuda.imap] password_file: cannot read"),
        ('password = "not-used-by-these-tests"', "", "[queues.mesadeayuda.imap] password_env: missing; expected password_env or password_file"),
        ('url = "sqlite:///m.db"', 'url = "mysql://x"', "[database] url: expected a \"sqlite:///…\" or \"postgresql+psycopg://…\" URL"),
        ("[database]", "[databse]\nurl = 1\n[database]", "[databse]: unknown table"),
        ("[smtp]\n", "[smtp]\nusername = \"desk\"\n", "[smtp] password_env: username is set, so a password is needed"),
        ('host = "127.0.0.1"\nport = 25', 'hots = "127.0.0.1"\nport = 25', '[smtp] host: missing; expected a string (is "hots" a typo?)'),
        ('password = "not-used-by-these-tests"', 'passwrod_file = "x"',
         '[queues.mesadeayuda.imap] password_env: missing; expected password_env or password_file (is "passwrod_file" a typo?)'),
        ('[queues.imap]\nhost = "127.0.0.1"\nport = 143\ntls = "none"\nusername = "mesadeayuda"\npassword = "not-used-by-these-tests"\n', "",
         "[queues.mesadeayuda] imap: missing table; every queue needs its [queues.imap]"),
        ("[desk]\n", '[templates]\npath = "no-such-folder"\n\n[desk]\n', "[templates] path: expected a folder of mail templates"),
    ],
    ids=["port-not-int", "port-range", "tls-choice", "missing-key", "bad-zone", "bad-prefix", "typo-key",
         "bad-address", "unset-env", "missing-file", "no-password", "bad-url", "unknown-table", "user-no-password",
         "typo-of-required", "typo-of-secret", "missing-imap", "missing-templates"],
)
def test_a_wrong_key_is_reported_with_file_key_and_expectation(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in MINIMAL
    path = write(tmp_path, MINIMAL.replace(old, new, 1))
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(error.value).startswith(f"{path}: ")
    assert message in str(error.value)


def test_secrets_come_from_the_environment_or_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESK_IMAP_PASSWORD", "from-env")
    config = load_config(write(tmp_path, MINIMAL.replace('password = "not-used-by-these-tests"',
                                                          'password_env = "DESK_IMAP_PASSWORD"')))
    assert config.queues[0].imap.password == "from-env" and config.warnings == ()
    (tmp_path / "smtp.secret").write_text("from-file\n")
    config = load_config(write(tmp_path, MINIMAL.replace("[smtp]\n", '[smtp]\nusername = "desk"\npassword_file = "smtp.secret"\n')))
    assert config.smtp.password == "from-file"
    assert "from-file" not in repr(config.smtp), "secrets stay out of reprs and so out of logs"


def test_invalid_toml_and_missing_files_are_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[desk\n"))
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "absent.toml")


def test_the_documented_example_configuration_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    example = (Path(__file__).parent.parent.parent / "config" / "mailbot.example.toml").read_text()
    (tmp_path / "clavesegura.secret").write_text("secret\n")
    monkeypatch.setenv("MAILBOT_SMTP_PASSWORD", "x")
    monkeypatch.setenv("MAILBOT_IMAP_PASSWORD_MESADEAYUDA", "y")
    config = load_config(write(tmp_path, example.replace("/etc/mailbot/clavesegura.secret", "clavesegura.secret")))
    assert [q.key for q in config.queues] == ["mesadeayuda", "clavesegura"]
    assert config.smtp.tls == "starttls" and config.queues[1].imap.password == "secret"


def test_two_queues_cannot_share_an_address(tmp_path: Path) -> None:
    queue = MINIMAL[MINIMAL.index("[[queues]]"):]
    with pytest.raises(ConfigError, match=r"\[queues.otra\] address: expected an address no other queue uses"):
        load_config(write(tmp_path, MINIMAL + "\n" + queue.replace('key = "mesadeayuda"', 'key = "otra"')))


def test_a_file_that_is_not_utf8_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "mailbot.toml"
    path.write_bytes(MINIMAL.replace("Mesa de ayuda", "Mesa de ayuda \xf1").encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8 text"):
        load_config(path)


def test_looking_at_the_desk_needs_no_passwords(tmp_path: Path) -> None:
    text = MINIMAL.replace('password = "not-used-by-these-tests"', 'password_env = "MAILBOT_TEST_UNSET_VARIABLE"')
    text = text.replace("[smtp]\n", '[smtp]\nusername = "desk"\npassword_env = "MAILBOT_TEST_UNSET_TOO"\n')
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match="MAILBOT_TEST_UNSET"):
        load_config(path)
    config = load_config(path, secrets=False)
    assert config.queues[0].imap.password == "" and config.smtp.password is None
