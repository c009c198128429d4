"""PLACEHOLDER until the outgoing branch lands: the old sender behind the runner interface."""

from __future__ import annotations

import asyncio
import threading

from sqlalchemy.orm import Session, sessionmaker

from ..config import Config
from ..mail.smtp_sender import DrainReport, SmtpSender
from ..templates import Templates
from .base import Runner, Unavailable
from .doorbell import Doorbell

__all__ = ["DrainReport", "OutgoingRunner"]


class OutgoingRunner(Runner):
    def __init__(self, config: Config, sessions: sessionmaker[Session], templates: Templates,
                 doorbell: Doorbell) -> None:
        super().__init__("outgoing")
        self.config = config
        self.doorbell = doorbell
        self.sender = SmtpSender(config, sessions, templates)

    def drain(self) -> DrainReport:
        return asyncio.run(self.sender.drain())

    def once(self) -> DrainReport:
        report = self.drain()
        if report.unavailable:
            raise Unavailable(f"SMTP {self.config.smtp.host}:{self.config.smtp.port}: {report.unavailable}")
        return report

    def wake(self) -> None:
        self.doorbell.ring()

    def snooze(self, stop: threading.Event) -> None:
        self.doorbell.wait(self.config.daemon.poll_interval)
