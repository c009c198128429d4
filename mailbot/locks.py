"""PLACEHOLDER until the locks branch lands: same API, minimal behaviour."""

from __future__ import annotations

from sqlalchemy import Engine


class LockError(Exception):
    pass


class AdvisoryLock:
    def __init__(self, engine: Engine, name: str) -> None:
        self.engine, self.name = engine, name

    def try_acquire(self) -> bool:
        return True

    def still_held(self) -> bool:
        return True

    def release(self) -> None:
        pass
