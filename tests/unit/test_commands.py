"""The command lines at the top of an agent's reply, as a table: the reply in, what it asks for out."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailbot.desk.commands import CommandError, Commands, parse_commands
from mailbot.desk.models import Priority, State

AGENT, OTHER = "agente1@example.com", "agente2@example.com"
AGENTS = frozenset({AGENT, OTHER})


@pytest.mark.parametrize(("reply", "expected"), [
    ("Buenos días, ya quedó.", Commands(text="Buenos días, ya quedó.")),
    ("#prioridad 2\n\nBuenos días.", Commands(priority=Priority.HIGH, text="Buenos días.")),
    ("#estado en espera\n#asignar yo\nQuedo atento.",
     Commands(state=State.ON_HOLD, assign=AGENT, text="Quedo atento.")),
    ("#Estado Resuelto", Commands(state=State.RESOLVED)),
    ("#status closed\n#priority 1", Commands(state=State.CLOSED, priority=Priority.CRITICAL)),
    (f"#assign {OTHER}\nHe takes it.", Commands(assign=OTHER, text="He takes it.")),
    (f"#asignar <{OTHER.upper()}>", Commands(assign=OTHER)),
    ("#assign me", Commands(assign=AGENT)),
    ("#nota\nLlamé a la cliente.\n\n#estado cerrado",
     Commands(note=True, text="Llamé a la cliente.\n\n#estado cerrado")),
    ("#prioridad 3\n#note la cliente no contesta", Commands(priority=Priority.MODERATE, note=True,
                                                            text="la cliente no contesta")),
    ("Texto primero.\n#estado cerrado", Commands(text="Texto primero.\n#estado cerrado")),  # commands only at the top
    ("#prioridad 7\nYa quedó.", Commands(error=CommandError(1, "#prioridad 7", "la prioridad va de 1 a 4"))),
    ("#estado Resulto", Commands(error=CommandError(1, "#estado Resulto", "estado desconocido: «Resulto»"))),
    ("\n#prioridad 2\n#cerrar", Commands(error=CommandError(3, "#cerrar", "comando desconocido"))),
    ("#asignar jorge.diaz@example.net",
     Commands(error=CommandError(1, "#asignar jorge.diaz@example.net",
                                 "«jorge.diaz@example.net» no es un agente de esta cola"))),
], ids=["plain", "priority", "state+assign-me", "case-and-accents", "english", "assign-other", "assign-brackets",
        "assign-me-en", "note-rest-of-mail", "note-on-its-line", "not-at-top", "bad-priority", "bad-state",
        "unknown-command", "assign-stranger"])
def test_commands_are_read_from_the_top_of_the_reply(reply: str, expected: Commands) -> None:
    assert parse_commands(reply, AGENT, AGENTS) == expected


@given(st.text())
def test_any_reply_parses_and_command_lines_never_reach_the_customer(reply: str) -> None:
    result = parse_commands(reply, AGENT, AGENTS)
    if result.error is None and not result.note:
        first = next((line.strip() for line in result.text.split("\n") if line.strip()), "")
        assert not first.startswith("#")
