"""A desk for the escalation pass without IMAP: cases opened, answered and moved the way the actions do, passes at
any instant, the outbox drained to the SMTP sink (the escalation tests and the portal's survey tests share it)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mailbot import store
from mailbot.config import Config, load_config
from mailbot.desk import cases
from mailbot.desk.accounts import get_or_create_contact
from mailbot.desk.escalation import Event, PassReport, case_changed, escalate_due
from mailbot.desk.models import Case, Direction, Entry, EntryKind, Escalation, EscalationKind, Priority, State
from mailbot.runners.outgoing import OutgoingRunner
from mailbot.servers.desk_config import LoopbackQueue, write_loopback_config
from mailbot.servers.smtp_capture import SmtpCapture
from mailbot.templates import Templates

BOGOTA = ZoneInfo("America/Bogota")
CUSTOMER = "marta.ruiz@transportes.example.org"
AGENTS = "agentes@example.com"
SUPERVISOR, COORDINATOR, DIRECTOR = "supervisor@example.com", "coordinador@example.com", "director@example.com"
LADDER = """
[[queues.escalation_levels]]
name = "Supervisor de soporte"
notify = ["supervisor@example.com"]
after = "2h"

[[queues.escalation_levels]]
name = "Coordinador de soporte"
notify = ["coordinador@example.com"]
after = "4h"

[[queues.escalation_levels]]
name = "Director de infraestructura y soporte"
notify = ["director@example.com"]
after = "1d"
"""


def bogota(day: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    """An instant of November on the desk's wall clock (23 November 2026 and 24 November 2025 are Mondays)."""
    return datetime(year, 11, day, hour, minute, tzinfo=BOGOTA)


@dataclass
class EscalationDesk:
    config: Config
    sessions: sessionmaker[Session]
    sink: SmtpCapture

    def open_case(self, at: datetime, priority: Priority = Priority.MODERATE) -> int:
        """A customer's mail opens a case at `at`, as the new-case action does."""
        with self.sessions.begin() as session:
            contact, _ = get_or_create_contact(session, CUSTOMER, "Marta Ruiz", "Transportes Ejemplo S.A.S.")
            case = cases.open_case(session, "CS", cases.NewCase("mesadeayuda", "No puedo firmar", contact, "es",
                                                                priority), now=at)
            self._entry(session, case, Direction.IN, EntryKind.CUSTOMER, "Sigue sin firmar.", at)
            case_changed(session, self.config, case, Event.CUSTOMER_WROTE, at)
            session.flush()  # open_case leaves the case unflushed until it stands whole, as the action does
            return case.id

    def customer_writes(self, case_id: int, at: datetime) -> None:
        with self.sessions.begin() as session:
            case = session.get_one(Case, case_id)
            self._entry(session, case, Direction.IN, EntryKind.CUSTOMER, "¿Alguna novedad?", at)
            case_changed(session, self.config, case, Event.CUSTOMER_WROTE, at)

    def agent_answers(self, case_id: int, at: datetime) -> None:
        with self.sessions.begin() as session:
            case = session.get_one(Case, case_id)
            self._entry(session, case, Direction.OUT, EntryKind.AGENT_REPLY, "¿Qué versión de Adobe usa?", at)
            case_changed(session, self.config, case, Event.DESK_ANSWERED, at)

    def set_state(self, case_id: int, state: State, at: datetime) -> None:
        with self.sessions.begin() as session:
            case = session.get_one(Case, case_id)
            case.state = state
            case_changed(session, self.config, case, Event.STATE_CHANGED, at)

    def pass_at(self, now: datetime) -> PassReport:
        return escalate_due(self.sessions, self.config, now)

    def case(self, case_id: int) -> Case:
        with self.sessions() as session:
            return session.get_one(Case, case_id)

    def history(self, case_id: int, kind: EscalationKind = EscalationKind.LEVEL) -> list[tuple[int, datetime]]:
        with self.sessions() as session:
            rows = session.scalars(select(Escalation).where(Escalation.case_id == case_id, Escalation.kind == kind)
                                   .order_by(Escalation.id)).all()
            return [(row.level, row.due_at) for row in rows]

    def send(self) -> list[tuple[str, str]]:
        """Drain the outbox to the sink; (recipient, subject) of every mail it got, in order."""
        OutgoingRunner(self.config, self.sessions, Templates(self.config.templates_path)).drain()
        return [(c.rcpt_tos[0], " ".join(str(c.message["Subject"]).split())) for c in self.sink.captured]

    @staticmethod
    def _entry(session: Session, case: Case, direction: Direction, kind: EntryKind, text: str, at: datetime) -> None:
        author = CUSTOMER if direction is Direction.IN else AGENTS
        cases.add_entry(session, case, Entry(direction=direction, kind=kind, author=author, text=text), at)


@contextmanager
def escalation_desk(tmp_path: Path, db_url: str, sink: SmtpCapture, extra: str = "") -> Iterator[EscalationDesk]:
    """A desk with the default calendar (Monday–Friday 07–19, Saturday 08–13, Colombian festivos), agents and the
    desk's three-level ladder, and `extra` configuration appended. No IMAP: cases are opened the way the actions
    open them."""
    path = write_loopback_config(tmp_path / "mailbot.toml", db_url=db_url, imap_port=1, imap_password="unused",
                                 smtp_port=sink.port, smtp={"retry_base": 0},
                                 queues=[LoopbackQueue("mesadeayuda", "mesadeayuda@example.com", "Mesa de ayuda",
                                                       "unused")])
    text = path.read_text().replace('hours_text = ', f'agents_group = "{AGENTS}"\nhours_text = ', 1)
    path.write_text(text + LADDER + extra)
    config = load_config(path)
    engine = store.make_engine(config.database_url)
    store.upgrade(engine)
    try:
        yield EscalationDesk(config, store.session_factory(engine), sink)
    finally:
        engine.dispose()
