"""Everything the runners share, built once from the configuration: the database, the templates, the doorbell."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from . import store
from .config import Config
from .runners.doorbell import Doorbell
from .runners.parse_ahead import ParseAhead
from .templates import Templates


@dataclass
class App:
    config: Config
    engine: Engine
    sessions: sessionmaker[Session]
    templates: Templates
    doorbell: Doorbell
    parse_ahead: ParseAhead = field(default_factory=ParseAhead)  # a worker process, started at the first backlog

    @classmethod
    def open(cls, config: Config) -> App:
        engine = store.make_engine(config.database_url)
        store.ensure_schema(engine)
        return cls(config, engine, store.session_factory(engine), Templates(config.templates_path), Doorbell(),
                   ParseAhead(config.logging))

    def close(self) -> None:
        self.parse_ahead.close()
        self.engine.dispose()
