"""Configuration errors name the file, the key and what is expected."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from mailbot.config import ConfigError, LimitsConfig, load_config
from mailbot.config_escalation import EscalationConfig, EscalationLevel, SlaTarget
from mailbot.desk.calendar import ALWAYS_OPEN
from mailbot.desk.durations import parse_duration

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
    assert config.smtp.connections == 4


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("port = 25", 'port = "smtp"', "[smtp] port: expected an integer 1–65535, got 'smtp'"),
        ("port = 25", "port = 70000", "[smtp] port: expected an integer 1–65535, got 70000"),
        ("port = 25", "port = 25\nconnections = 0", "[smtp] connections: expected an integer 1–32, got 0"),
        ("port = 25", "port = 25\nconnections = 33", "[smtp] connections: expected an integer 1–32, got 33"),
        ("port = 25", 'port = 25\nconnections = "4"', "[smtp] connections: expected an integer 1–32, got '4'"),
        ('tls = "none"\n\n[[queues]]', 'tls = "yes"\n\n[[queues]]', '[smtp] tls: expected "none" or "starttls" or "ssl", got \'yes\''),
        ('name = "Mesa de ayuda Ejemplo"\n', "", "[desk] name: missing; expected a string"),
        ("[desk]\n", '[desk]\ntimezone = "Bogota"\n', "[desk] timezone: expected an IANA time zone"),
        ("[desk]\n", '[desk]\ncase_prefix = "cs-"\n', "[desk] case_prefix: expected 1–6 capital letters, got 'cs-'"),
        ("[desk]\n", "[desk]\nlanguaje = \"es\"\n", "[desk] languaje: unknown key; known keys here:"),
        ('address = "mesadeayuda@example.com"', 'address = "mesadeayuda"', "[queues.mesadeayuda] address: expected an e-mail address"),
        ('password = "not-used-by-these-tests"', 'password_env = "MAILBOT_TEST_UNSET_VARIABLE"',
         "[queues.mesadeayuda.imap] password_env: environment variable MAILBOT_TEST_UNSET_VARIABLE is not set"),
        ('password = "not-used-by-these-tests"', 'password_env = "MAILBOT_TEST_EMPTY_VARIABLE"',
         "[queues.mesadeayuda.imap] password_env: environment variable MAILBOT_TEST_EMPTY_VARIABLE is empty"),
        ('password = "not-used-by-these-tests"', 'password_file = "missing.secret"',
         "[queues.mesadeayuda.imap] password_file: cannot read"),
        ('password = "not-used-by-these-tests"', "", "[queues.mesadeayuda.imap] password_env: missing; expected password_env or password_file"),
        ('url = "sqlite:///m.db"', 'url = "mysql://x"', "[database] url: expected a \"sqlite:///…\" or \"postgresql+psycopg://…\" URL"),
        ('url = "sqlite:///m.db"', 'url = "postgresql+nosuchdriver://desk@db.example.com/desk"',
         '[database] url: names the nosuchdriver driver, which is not installed; write "postgresql+psycopg://…"'),
        ("[database]", "[databse]\nurl = 1\n[database]", "[databse]: unknown table"),
        ("[smtp]\n", "[smtp]\nusername = \"desk\"\n", "[smtp] password_env: username is set, so a password is needed"),
        ('host = "127.0.0.1"\nport = 25', 'hots = "127.0.0.1"\nport = 25', '[smtp] host: missing; expected a string (is "hots" a typo?)'),
        ('password = "not-used-by-these-tests"', 'passwrod_file = "x"',
         '[queues.mesadeayuda.imap] password_env: missing; expected password_env or password_file (is "passwrod_file" a typo?)'),
        ('[queues.imap]\nhost = "127.0.0.1"\nport = 143\ntls = "none"\nusername = "mesadeayuda"\npassword = "not-used-by-these-tests"\n', "",
         "[queues.mesadeayuda] imap: missing table; every queue needs its [queues.imap]"),
        ("[desk]\n", '[templates]\npath = "no-such-folder"\n\n[desk]\n', "[templates] path: expected a folder of mail templates"),
    ],
    ids=["port-not-int", "port-range", "connections-low", "connections-high", "connections-text", "tls-choice", "missing-key", "bad-zone", "bad-prefix", "typo-key",
         "bad-address", "unset-env", "empty-env", "missing-file", "no-password", "bad-url", "missing-driver", "unknown-table", "user-no-password",
         "typo-of-required", "typo-of-secret", "missing-imap", "missing-templates"],
)
def test_a_wrong_key_is_reported_with_file_key_and_expectation(tmp_path: Path, old: str, new: str, message: str,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILBOT_TEST_EMPTY_VARIABLE", "")
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


# The minimal desk with places to add keys: {desk} inside [desk], {queue} inside the queue, {top} for new tables.
TEMPLATE = (MINIMAL.replace("[desk]\n", "[desk]\n{desk}").replace("[smtp]\n", "{top}\n[smtp]\n")
            .replace('address = "mesadeayuda@example.com"\n', 'address = "mesadeayuda@example.com"\n{queue}'))
SECRET = "0123456789abcdef0123456789abcdef-desk"
SECOND_QUEUE = """
[[queues]]
key = "clavesegura"
address = "soporte.clavesegura@example.com"
agents = ["agente3@example.com"]
calendar = "madrid"
escalation_levels = []
[queues.imap]
host = "127.0.0.1"
port = 143
tls = "none"
username = "clavesegura"
password = "not-used-by-these-tests"
"""
FULL = TEMPLATE.format(
    desk="""timezone = "Europe/Madrid"
secret_env = "MAILBOT_TEST_DESK_SECRET"
trusted_authserv_ids = ["MX.example.com", "mx2.example.net"]
reopen_closed = true
""",
    queue="""agents = ["Agente1@Example.com", "agente2@example.com"]
agents_group = "Soporte-Grupo@example.com"
""",
    top="""[limits]
auto_replies_per_hour = 3
auto_replies_per_day = 10
max_message_size = "20 MiB"
max_attachment_size = 10000000
participants_per_case = 4

[calendars.oficina]
timezone = "America/Bogota"
hours = { mon = ["07:00-12:00", "14:00-19:00"], sat = ["08:00-13:00"] }
holidays = "CO"
closed = ["2026-11-23"]
open = [2026-11-16]

[calendars.madrid]
hours = { mon = ["09:00-17:00"] }

[sla]
"2" = { first_response = "1h" }

[escalation]
interval = 30
cases_per_pass = 500
remind_after = "2d"
auto_close_after = "1d4h"
survey_url = "https://encuesta.example.com/caso"

[[escalation.levels]]
name = "Supervisor de soporte"
notify = ["Supervisor@Example.com"]
after = "2h"

[[escalation.levels]]
name = "Coordinador de soporte"
notify = ["coordinador@example.com", "suplente@example.com"]
after = "1d"
""") + SECOND_QUEUE


def bogota(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo("America/Bogota"))


def test_a_configuration_without_the_new_sections_keeps_the_desk_as_it_is(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL))
    assert (config.desk.secret, config.desk.trusted_authserv_ids, config.desk.reopen_closed) == (None, (), False)
    assert config.limits == LimitsConfig(auto_replies_per_hour=5, auto_replies_per_day=20,
                                         max_message_size=25_000_000, max_attachment_size=20_000_000,
                                         participants_per_case=10)
    queue = config.queues[0]
    assert (queue.agents, queue.agents_group, queue.agent_recipients, queue.escalation_levels) == ((), None, (), None)
    assert not config.is_agent("mesadeayuda", "agente1@example.com")
    assert {p: (str(t.first_response), str(t.resolution)) for p, t in config.sla.items()} == {
        1: ("30m", "4h"), 2: ("2h", "1d"), 3: ("4h", "3d"), 4: ("8h", "5d")}
    assert config.escalation == EscalationConfig(interval=60.0, cases_per_pass=100, remind_after=parse_duration("3d"),
                                                 auto_close_after=parse_duration("5d"), survey_url=None, levels=())
    assert config.ladder_for("mesadeayuda") == ()
    # The desk's own hours: Monday–Friday 07–19, Saturday 08–13, Bogotá, Colombian festivos.
    assert list(config.calendars) == ["default"] and queue.calendar_name == "default"
    assert queue.calendar is config.calendars["default"] is config.calendar_for("mesadeayuda", 3)
    assert config.calendar_for("mesadeayuda", 1) is ALWAYS_OPEN
    opening = {when: queue.calendar.is_open(bogota(when)) for when in (
        "2026-11-20 07:00", "2026-11-20 18:59", "2026-11-20 19:00", "2026-11-21 12:59", "2026-11-21 13:00",
        "2026-11-22 10:00", "2026-11-16 10:00")}
    assert opening == {"2026-11-20 07:00": True, "2026-11-20 18:59": True, "2026-11-20 19:00": False,
                       "2026-11-21 12:59": True, "2026-11-21 13:00": False, "2026-11-22 10:00": False,
                       "2026-11-16 10:00": False}, "Monday 16 November 2026 is a festivo"


def test_the_default_calendar_follows_the_desk_time_zone(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, TEMPLATE.format(desk='timezone = "Europe/Madrid"\n', queue="", top="")))
    assert config.calendars["default"].timezone == "Europe/Madrid"


def test_a_full_configuration_of_agents_limits_calendars_sla_and_escalation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAILBOT_TEST_DESK_SECRET", SECRET)
    config = load_config(write(tmp_path, FULL))
    assert config.desk.secret == SECRET and SECRET not in repr(config)
    assert config.desk.trusted_authserv_ids == ("mx.example.com", "mx2.example.net")
    assert config.desk.reopen_closed is True
    assert config.limits == LimitsConfig(3, 10, 20 * 1024 * 1024, 10_000_000, 4)

    desk, clave = config.queues
    assert desk.agents == ("agente1@example.com", "agente2@example.com")
    assert desk.agent_recipients == ("soporte-grupo@example.com",), "the list instead of each agent"
    assert clave.agent_recipients == ("agente3@example.com",)
    assert config.is_agent("mesadeayuda", " AGENTE1@example.COM")
    assert not config.is_agent("mesadeayuda", "soporte-grupo@example.com"), "the list is told, it does not act"
    assert not config.is_agent("clavesegura", "agente1@example.com"), "an agent of one queue only"

    assert list(config.calendars) == ["oficina", "madrid"]
    assert (desk.calendar_name, clave.calendar_name) == ("oficina", "madrid"), "the first calendar is the default"
    assert desk.calendar is config.calendars["oficina"] and clave.calendar is config.calendars["madrid"]
    assert config.calendars["madrid"].timezone == "Europe/Madrid", "a calendar's zone defaults to the desk's"
    oficina = desk.calendar
    assert oficina.is_open(bogota("2026-11-16 10:00")), "an extra open date beats the festivo"
    assert not oficina.is_open(bogota("2026-11-16 13:00")), "split day"
    assert not oficina.is_open(bogota("2026-11-23 10:00")), "an extra closed date"
    assert config.calendar_for("clavesegura", 1) is ALWAYS_OPEN

    assert config.sla_for(2) == SlaTarget(parse_duration("1h"), parse_duration("1d")), "resolution keeps its default"
    assert config.sla_for(4) == SlaTarget(parse_duration("8h"), parse_duration("5d"))
    with pytest.raises(KeyError):
        config.sla_for(5)

    assert config.escalation == EscalationConfig(
        interval=30.0, cases_per_pass=500, remind_after=parse_duration("2d"), auto_close_after=parse_duration("1d4h"),
        survey_url="https://encuesta.example.com/caso",
        levels=(EscalationLevel("Supervisor de soporte", ("supervisor@example.com",), parse_duration("2h")),
                EscalationLevel("Coordinador de soporte", ("coordinador@example.com", "suplente@example.com"),
                                parse_duration("1d"))))
    assert config.ladder_for("mesadeayuda") == config.escalation.levels
    assert config.ladder_for("clavesegura") == (), "an empty override means no levels above the agents"


def test_the_desk_secret_is_read_only_with_the_passwords(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, FULL), secrets=False)
    assert config.desk.secret is None
    (tmp_path / "desk.secret").write_text(SECRET + "\n")
    text = FULL.replace('secret_env = "MAILBOT_TEST_DESK_SECRET"', 'secret_file = "desk.secret"')
    assert load_config(write(tmp_path, text)).desk.secret == SECRET


def test_a_queue_may_have_its_own_ladder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    example = (Path(__file__).parent.parent.parent / "config" / "mailbot.example.toml").read_text()
    (tmp_path / "clavesegura.secret").write_text("secret\n")
    monkeypatch.setenv("MAILBOT_SMTP_PASSWORD", "x")
    monkeypatch.setenv("MAILBOT_IMAP_PASSWORD_MESADEAYUDA", "y")
    config = load_config(write(tmp_path, example.replace("/etc/mailbot/clavesegura.secret", "clavesegura.secret")))
    assert [level.name for level in config.ladder_for("mesadeayuda")] == [
        "Supervisor de soporte", "Coordinador de soporte", "Director de infraestructura y soporte"]
    assert [level.name for level in config.ladder_for("clavesegura")] == [
        "Supervisor de soporte", "Coordinador de soporte"]


SIZE_EXPECTED = ('expected a number of bytes such as 25000000, or a string with a unit such as "25MB" or "20 MiB" '
                 "(kB, MB, GB are powers of 1000; KiB, MiB, GiB powers of 1024)")
DURATION = 'expected a duration such as "30m", "4h", "2d" or "1d4h"'
NOT_OURS = ("expected an address that is not the desk's own ([[queues]] address): mail to it would come back to "
            "mailbot, got 'mesadeayuda@example.com'")
DESK_KEYS = ("agents_server_binds_sender, case_prefix, language, message_id_domain, name, portal_url, reopen_closed, "
             "secret_env, secret_file, timezone, trusted_authserv_ids")
WRONG = [
    # [desk]
    ({"desk": 'secret_env = "MAILBOT_TEST_UNSET_SECRET"\n'},
     "[desk] secret_env: environment variable MAILBOT_TEST_UNSET_SECRET is not set", "secret-env-unset"),
    ({"desk": 'secret = "short"\n'},
     "[desk] secret: expected a secret of at least 32 characters, got 5; "
     "make one with: python3 -c 'import secrets; print(secrets.token_hex(32))'", "secret-too-short"),
    ({"desk": 'secret_env = "A"\nsecret_file = "b"\n'}, "[desk] secret: give only one of secret_env, secret_file",
     "secret-twice"),
    ({"desk": 'trusted_authserv_ids = "mx.example.com"\n'},
     "[desk] trusted_authserv_ids: expected a list such as [\"mx.example.com\"], got 'mx.example.com'",
     "authserv-ids-not-a-list"),
    ({"desk": 'trusted_authserv_ids = ["mx.example.com; spf=pass"]\n'},
     '[desk] trusted_authserv_ids[0]: expected the authserv-id of a mail server, such as "mx.example.com", '
     "got 'mx.example.com; spf=pass'", "authserv-id-not-a-token"),
    ({"desk": 'trusted_authserv_ids = ["MX.example.com", "mx.example.com"]\n'},
     "[desk] trusted_authserv_ids[1]: expected each value once (case does not matter), got 'mx.example.com'",
     "authserv-id-twice"),
    ({"desk": 'reopen_closed = "no"\n'}, "[desk] reopen_closed: expected true or false, got 'no'", "reopen-not-bool"),
    ({"desk": "reopen_close = true\n"},
     f'[desk] reopen_close: unknown key; known keys here: {DESK_KEYS} (did you mean "reopen_closed"?)',
     "desk-typo"),
    # [[queues]]
    ({"queue": 'agents = "agente1@example.com"\n'},
     "[queues.mesadeayuda] agents: expected a list such as [\"agente1@example.com\"], got 'agente1@example.com'",
     "agents-not-a-list"),
    ({"queue": 'agents = ["agente1"]\n'},
     "[queues.mesadeayuda] agents[0]: expected an e-mail address, got 'agente1'", "agent-not-an-address"),
    ({"queue": 'agents = ["Agente1@example.com", "agente1@EXAMPLE.com"]\n'},
     "[queues.mesadeayuda] agents[1]: expected each value once (case does not matter), got 'agente1@EXAMPLE.com'",
     "agent-twice"),
    ({"queue": 'agents = ["MesaDeAyuda@example.com"]\n'}, f"[queues.mesadeayuda] agents: {NOT_OURS}",
     "agent-is-the-desk"),
    ({"queue": 'agents_group = "soporte"\n'},
     "[queues.mesadeayuda] agents_group: expected an e-mail address, or \"\" for none, got 'soporte'",
     "group-not-an-address"),
    ({"queue": 'agents_group = "mesadeayuda@example.com"\n'}, f"[queues.mesadeayuda] agents_group: {NOT_OURS}",
     "group-is-the-desk"),
    ({"queue": 'calendar = "oficina"\n'},
     "[queues.mesadeayuda] calendar: expected the name of a [calendars.NAME] table: default, got 'oficina'",
     "calendar-not-defined"),
    ({"queue": 'calendar = "ofcina"\n', "top": '[calendars.oficina]\nhours = { mon = ["07:00-19:00"] }\n'},
     '[queues.mesadeayuda] calendar: expected the name of a [calendars.NAME] table: oficina '
     "(did you mean \"oficina\"?), got 'ofcina'", "calendar-typo"),
    ({"queue": 'escalation_levels = "supervisor@example.com"\n'},
     "[queues.mesadeayuda] escalation_levels: expected [[tables]] of name, notify and after, "
     "got 'supervisor@example.com'", "queue-ladder-not-tables"),
    ({"queue": 'escalation_levels = [{ name = "Supervisor", notify = [], after = "2h" }]\n'},
     '[queues.mesadeayuda.escalation_levels.1] notify: expected at least one e-mail address, such as '
     '["supervisor@example.com"]', "queue-level-notifies-nobody"),
    # [limits]
    ({"top": '[limits]\nmax_message_size = "25"\n'}, f"[limits] max_message_size: {SIZE_EXPECTED}, got '25'",
     "size-without-unit"),
    ({"top": "[limits]\nmax_message_size = 2.5\n"}, f"[limits] max_message_size: {SIZE_EXPECTED}, got 2.5",
     "size-not-whole"),
    ({"top": "[limits]\nmax_message_size = 100\n"},
     "[limits] max_message_size: expected a size from 10,000 to 2,000,000,000 bytes, got 100", "size-too-small"),
    ({"top": '[limits]\nmax_attachment_size = "30MB"\n'},
     "[limits] max_attachment_size: expected at most max_message_size (25,000,000 bytes), got '30MB'",
     "attachment-larger-than-message"),
    ({"top": "[limits]\nauto_replies_per_day = 3\n"},
     "[limits] auto_replies_per_day: expected at least auto_replies_per_hour (5), got 3", "day-below-hour"),
    ({"top": "[limits]\nauto_replies_per_hour = 0\n"},
     "[limits] auto_replies_per_hour: expected an integer 1–1000, got 0", "per-hour-zero"),
    ({"top": "[limits]\nparticipants_per_case = 101\n"},
     "[limits] participants_per_case: expected an integer 0–100, got 101", "participants-past-one-cc"),
    ({"top": "[limits]\nmax_mesage_size = 1\n"},
     "[limits] max_mesage_size: unknown key; known keys here: auto_replies_per_day, auto_replies_per_hour, "
     'max_attachment_size, max_message_size, participants_per_case (did you mean "max_message_size"?)',
     "limits-typo"),
    # [calendars]
    ({"top": '[calendars.oficina]\nhours = { mon = ["7-19"] }\n'},
     "[calendars.oficina] hours.mon[0]: expected a range \"HH:MM-HH:MM\" such as \"07:00-19:00\", got '7-19'",
     "range-not-hh-mm"),
    ({"top": '[calendars.oficina]\nhours = { mon = ["07:00-12:00", "11:00-19:00"] }\n'},
     '[calendars.oficina] hours.mon: ranges "07:00-12:00" and "11:00-19:00" overlap', "ranges-overlap"),
    ({"top": '[calendars.oficina]\ntimezone = "Bogota"\nhours = { mon = ["07:00-19:00"] }\n'},
     "[calendars.oficina] timezone: expected an IANA time zone such as \"America/Bogota\", got 'Bogota'",
     "calendar-zone"),
    ({"top": '[calendars.oficina]\nholidays = "XX"\nhours = { mon = ["07:00-19:00"] }\n'},
     '[calendars.oficina] holidays: expected a country code the holidays package knows, such as "CO", or "" for '
     "none, got 'XX'", "unknown-country"),
    ({"top": '[calendars.oficina]\nholidays = "CO"\n'},
     '[calendars.oficina] hours: expected a table of weekdays such as { mon = ["07:00-19:00"] }, missing',
     "calendar-without-hours"),
    ({"top": '[calendars.oficina]\nclosed = ["2026-02-30"]\nhours = { mon = ["07:00-19:00"] }\n'},
     "[calendars.oficina] closed[0]: expected a date such as \"2026-12-24\", got '2026-02-30'", "no-such-date"),
    ({"top": '[calendars.oficina]\nholiday = "CO"\nhours = { mon = ["07:00-19:00"] }\n'},
     "[calendars.oficina] holiday: unknown key; known keys here: closed, holidays, hours, open, timezone "
     '(did you mean "holidays"?)', "calendar-typo-key"),
    ({"top": '[calendars.Oficina]\nhours = { mon = ["07:00-19:00"] }\n'},
     "[calendars] Oficina: expected a short lower-case name such as oficina for the calendar", "calendar-name"),
    ({"top": '[calendars]\noficina = "07:00-19:00"\n'}, "[calendars] oficina: expected a table, got '07:00-19:00'",
     "calendar-not-a-table"),
    # [sla]
    ({"top": '[sla]\n"1" = { first_response = "30 minutes" }\n'},
     f"[sla.1] first_response: {DURATION} (units d, h, m, s, largest first), got '30 minutes'", "sla-not-duration"),
    ({"top": '[sla]\n"2" = { resolution = "0m" }\n'}, f"[sla.2] resolution: {DURATION}, longer than zero, got '0m'",
     "sla-zero"),
    ({"top": '[sla]\n"3" = "4h"\n'}, "[sla] 3: expected a table, got '4h'", "sla-row-not-a-table"),
    ({"top": '[sla]\n"5" = { first_response = "1d" }\n'}, "[sla] 5: unknown key; known keys here: 1, 2, 3, 4",
     "sla-no-such-priority"),
    ({"top": '[sla]\n"4" = { first_reponse = "8h" }\n'},
     '[sla.4] first_reponse: unknown key; known keys here: first_response, resolution (did you mean '
     '"first_response"?)', "sla-typo"),
    # [escalation]
    ({"top": "[escalation]\nremind_after = 3\n"}, f"[escalation] remind_after: {DURATION}, got 3", "remind-not-text"),
    ({"top": '[escalation]\nsurvey_url = "encuesta.example.com"\n'},
     "[escalation] survey_url: expected an http:// or https:// URL, or \"\" for none, got 'encuesta.example.com'",
     "survey-not-a-url"),
    ({"top": '[[escalation.levels]]\nname = "Supervisor"\nnotify = ["supervisor@example.com"]\n'},
     f"[escalation.levels.1] after: missing; {DURATION}", "level-without-after"),
    ({"top": '[[escalation.levels]]\nnotify = ["supervisor@example.com"]\nafter = "2h"\n'},
     '[escalation.levels.1] name: missing; expected the name of the level, such as "Supervisor de soporte"',
     "level-without-name"),
    ({"top": '[[escalation.levels]]\nname = "Supervisor"\nnotify = ["mesadeayuda@example.com"]\nafter = "2h"\n'},
     f"[escalation.levels.1] notify: {NOT_OURS}", "level-notifies-the-desk"),
    ({"top": "[escalaton]\ninterval = 60\n"},
     "[escalaton]: unknown table; known tables here: accounts, calendars, daemon, database, desk, escalation, limits, "
     'logging, metrics, portal, queues, sla, smtp, storage, templates (did you mean "escalation"?)', "table-typo"),
]


@pytest.mark.parametrize(("edits", "message"), [pytest.param(e, m, id=i) for e, m, i in WRONG])
def test_a_wrong_new_key_is_one_line_with_file_key_and_expectation(
    tmp_path: Path, edits: dict[str, str], message: str
) -> None:
    path = write(tmp_path, TEMPLATE.format(**{"desk": "", "queue": "", "top": "", **edits}))
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(error.value) == f"{path}: {message}"
