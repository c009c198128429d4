"""Read the command lines at the top of an agent's reply (#estado, #prioridad, #asignar, #nota and English aliases)."""

from __future__ import annotations

import unicodedata
from collections.abc import Collection
from dataclasses import dataclass, replace

from .models import Priority, State

__all__ = ["CommandError", "Commands", "EXAMPLES", "parse_commands"]

EXAMPLES = {
    "es": ["#estado en curso", "#prioridad 2", "#asignar yo", "#nota"],
    "en": ["#status in progress", "#priority 2", "#assign me", "#note"],
}
_STATES = {
    "en curso": State.IN_PROGRESS, "in progress": State.IN_PROGRESS,
    "en espera": State.ON_HOLD, "on hold": State.ON_HOLD,
    "resuelto": State.RESOLVED, "resolved": State.RESOLVED,
    "cerrado": State.CLOSED, "closed": State.CLOSED,
}
_PRIORITIES = {str(n): priority for n, priority in enumerate(Priority, start=1)}
_VERBS = {"estado": "state", "status": "state", "prioridad": "priority", "priority": "priority",
          "asignar": "assign", "assign": "assign", "nota": "note", "note": "note"}
_MYSELF = frozenset({"yo", "me"})
_REASONS = {
    "es": {"unknown": "comando desconocido", "state": "estado desconocido: «{}»",
           "priority": "la prioridad va de 1 a 4", "assign": "«{}» no es un agente de esta cola"},
    "en": {"unknown": "unknown command", "state": "unknown state: “{}”",
           "priority": "the priority goes from 1 to 4", "assign": "“{}” is not an agent of this queue"},
}


@dataclass(frozen=True)
class CommandError:
    """The first line that could not be applied: its number (1-based, in the stripped reply), text and why."""

    line_number: int
    line: str
    reason: str


@dataclass(frozen=True)
class Commands:
    """What an agent's reply asks for. `text` is what is left for the customer (or for the note when `note`)."""

    state: State | None = None
    priority: Priority | None = None
    assign: str | None = None
    note: bool = False
    text: str = ""
    error: CommandError | None = None


def parse_commands(reply: str, agent: str, agents: Collection[str], language: str = "es") -> Commands:
    """The commands on the lines at the top of `reply` (blank lines between them allowed), and the text after
    them. `#nota` ends the commands: the rest of the mail, and any words on its own line, is the internal note.
    Any line that starts with "#" but is not understood stops everything (`error`): nothing is applied or sent."""
    reasons = _REASONS.get(language, _REASONS["es"])
    lines = reply.split("\n")
    found = Commands()
    index = 0
    while index < len(lines):
        line = lines[index].strip()
        if not line:
            index += 1
            continue
        if not line.startswith("#"):
            break
        verb, _, argument = line[1:].partition(" ")
        argument = " ".join(argument.split())
        kind = _VERBS.get(_fold(verb))
        number = index + 1
        if kind is None:
            return Commands(error=CommandError(number, line, reasons["unknown"]))
        if kind == "note":
            return replace(found, note=True, text="\n".join([argument, *lines[index + 1:]]).strip())
        applied = _apply(found, kind, argument, agent, agents)
        if applied is None:
            return Commands(error=CommandError(number, line, reasons[kind].format(argument)))
        found = applied
        index += 1
    return replace(found, text="\n".join(lines[index:]).strip("\n"))


def _apply(found: Commands, kind: str, argument: str, agent: str, agents: Collection[str]) -> Commands | None:
    """`found` with one more command's value, or None when its argument is not understood."""
    if kind == "state":
        state = _STATES.get(_fold(argument))
        return None if state is None else replace(found, state=state)
    if kind == "priority":
        priority = _PRIORITIES.get(argument.split(" ")[0].split("-")[0].strip())
        return None if priority is None else replace(found, priority=priority)
    address = agent if _fold(argument) in _MYSELF else argument.strip("<>").lower()
    return replace(found, assign=address) if address in agents else None


def _fold(text: str) -> str:
    """Lower case without accents, so "#Prioridad", "#ESTADO Resuelto" and "en espéra" are read alike."""
    decomposed = unicodedata.normalize("NFKD", text.strip().lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))
