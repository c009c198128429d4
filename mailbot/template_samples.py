"""One realistic context per automatic mail: the contract the context code follows, and what `templates check` renders.

Every context is built from the same pieces, so a template can rely on the same names everywhere:

- `desk`, `queue`: in every mail (what `desk/outbox.py` `_desk` returns).
- `contact`, `case`: in every mail about a case (`case` is None only where the README says so).
- `entries`, `message`: entry shapes, the case's history (newest last) and the mail that caused this one.
- one object named after the event where the mail needs more: `escalation`, `reminder`, `closing`, `bounce`, `error`.

All values are strings, numbers, lists, dicts or None; dates and durations arrive formatted in the desk's language
and time zone. Display names and subjects arrive cleaned (one line, no control characters). `lang` is set by the
renderer; the HTML part also gets `subject`, the rendered subject.
"""

from __future__ import annotations

import copy
from typing import Any

DESK: dict[str, Any] = {"name": "Mesa de ayuda Ejemplo", "portal_url": "https://portal.example.com/csm"}
QUEUE: dict[str, Any] = {
    "key": "mesadeayuda",
    "name": "Mesa de ayuda",
    "address": "mesadeayuda@example.com",
    "hours_text": "Lunes a viernes de 7:00 a. m. a 7:00 p. m.; sábados de 8:00 a. m. a 1:00 p. m.",
}
CONTACT: dict[str, Any] = {
    "email": "marta.ruiz@example.org",
    "name": "Marta Ruiz",
    "greeting": "Marta Ruiz",  # the name only when it looks like one (mail/sanitize.greeting_name), else ""
    "account": "Transportes Ejemplo S.A.S.",
}
CASE: dict[str, Any] = {
    "number": "CS0000001",
    "subject": "No puedo firmar en Adobe Reader con el token",
    "priority": "3 - Moderada",
    "state": "Nuevo",
    "owner": "",
    "created_at": "2026-11-23 09:15 (America/Bogota)",
    "updated_at": "2026-11-23 09:15 (America/Bogota)",
}
CUSTOMER_MAIL: dict[str, Any] = {
    "at": "2026-11-23 09:15 (America/Bogota)",
    "direction": "in",
    "kind": "customer",
    "author": "Marta Ruiz <marta.ruiz@example.org>",
    "subject": "No puedo firmar en Adobe Reader con el token",
    "text": "Buenos días:\n\nAl firmar en Adobe Reader con el token sale \"No se encontró el certificado\".\n"
            "Ya reinstalé el controlador.\n\nGracias,\nMarta",
    "attachments": ["captura.png"],
    "flags": [],
}
AGENT_REPLY: dict[str, Any] = {
    "at": "2026-11-23 10:02 (America/Bogota)",
    "direction": "out",
    "kind": "agent_reply",
    "author": "Andrés Gómez <andres.gomez@example.com>",
    "subject": "[CS0000001] No puedo firmar en Adobe Reader con el token",
    "text": "Buenos días, Marta:\n\n¿Nos confirma la versión de Adobe Reader y si el token aparece en el "
            "administrador de dispositivos?\n\nQuedamos atentos,\nAndrés Gómez",
    "attachments": [],
    "flags": [],
}
FOLLOW_UP: dict[str, Any] = {
    **CUSTOMER_MAIL,
    "at": "2026-11-23 11:40 (America/Bogota)",
    "subject": "RE: [CS0000001] No puedo firmar en Adobe Reader con el token",
    "text": "Es la versión 2024.001 y el token sí aparece.",
    "attachments": [],
    "flags": [],
}
STRANGER: dict[str, Any] = {"email": "jorge.diaz@example.net", "name": "Jorge Díaz", "greeting": "Jorge Díaz",
                            "account": "example.net"}


def _customer(**extra: Any) -> dict[str, Any]:
    return {"desk": DESK, "queue": QUEUE, "contact": CONTACT, "case": CASE, **extra}


def _case(**changes: Any) -> dict[str, Any]:
    return {**CASE, **changes}


_ESCALATION: dict[str, Any] = {
    "level": 1,
    "name": "Supervisor de soporte",
    "waiting": "4 h 20 min",
    "breached": "first_response",
    "target": "4 h",
    "due_at": "2026-11-23 13:15 (America/Bogota)",
    "tried": [{"level": 0, "name": "Agentes de Mesa de ayuda", "at": "2026-11-23 09:15 (America/Bogota)"}],
}

# The portal's survey page, one signed link per rating (desk/survey.py); the token here is only its shape.
_SURVEY_LINKS: list[dict[str, Any]] = [
    {"rating": n, "url": f"https://portal.example.com/csm/survey/CS0000001.{n}.{'x' * 43}"} for n in range(1, 6)]

# The first context of each mail is its sample (preview shows it); the others reach the templates' other branches.
SAMPLES: dict[str, tuple[dict[str, Any], ...]] = {
    "ack": (
        _customer(),
        _customer(contact={**CONTACT, "name": ""}),
    ),
    "credentials": (
        _customer(username=CONTACT["email"], password="Ej3mploTmp9kQ2xZ"),
        _customer(contact={**CONTACT, "name": ""}, username=CONTACT["email"], password="Ej3mploTmp9kQ2xZ"),
    ),
    "password_reset": (
        {"desk": DESK, "queue": QUEUE, "contact": CONTACT, "username": CONTACT["email"], "password": "Ej3mploTmp9kQ2xZ"},
    ),
    "agent_notify": (
        _customer(event="new_case", message=CUSTOMER_MAIL, entries=[]),
        _customer(event="new_case", message={**CUSTOMER_MAIL, "flags": ["name-looks-like-address"]}, entries=[]),
        _customer(event="follow_up", case=_case(state="En curso", owner="Andrés Gómez"), message=FOLLOW_UP,
                  entries=[CUSTOMER_MAIL, AGENT_REPLY]),
    ),
    "agent_reply": (
        _customer(case=_case(state="En curso", owner="Andrés Gómez"), reply=AGENT_REPLY),
    ),
    "command_error": (
        _customer(case=_case(state="En curso", owner="Andrés Gómez"),
                  agent={"email": "andres.gomez@example.com", "name": "Andrés Gómez"},
                  error={"line_number": 1, "line": "#estado Resulto", "reason": "estado desconocido: «Resulto»",
                         "held": True},
                  commands=["#estado En curso", "#prioridad 2", "#asignar andres.gomez@example.com", "#nota"]),
        _customer(contact=None, case=None, agent={"email": "andres.gomez@example.com", "name": ""},
                  error={"line_number": 3, "line": "#prioridad 7", "reason": "la prioridad va de 1 a 4",
                         "held": False},
                  commands=[]),
    ),
    "unverified_agent": (
        _customer(case=_case(state="En curso"), message={**FOLLOW_UP, "author": "andres.gomez@example.com",
                                                         "text": "#estado Cerrado"},
                  reason="sin DKIM ni SPF válidos para example.com"),
        _customer(contact=None, case=None, message={**CUSTOMER_MAIL, "author": "andres.gomez@example.com"},
                  reason="sin DKIM ni SPF válidos para example.com"),
    ),
    "bounce_notice": (
        _customer(bounce={"recipient": "marta.ruiz@example.org", "status": "5.1.1",
                          "diagnostic": "550 5.1.1 <marta.ruiz@example.org>: user unknown",
                          "subject": "[CS0000001] No puedo firmar en Adobe Reader con el token",
                          "sent_at": "2026-11-23 10:02 (America/Bogota)"}),
        _customer(case=None, bounce={"recipient": "marta.ruiz@example.org", "status": "4.2.2",
                                     "diagnostic": "", "subject": "Mesa de ayuda Ejemplo: su usuario ha sido creado",
                                     "sent_at": "2026-11-23 09:16 (America/Bogota)"}),
    ),
    "linked_case": (
        _customer(case=_case(number="CS0000042", subject="Sigue sin firmar"),
                  previous_case=_case(state="Cerrado")),
    ),
    "stranger_linked": (
        _customer(contact=STRANGER, case=_case(number="CS0000043", subject="RE: No puedo firmar en Adobe Reader"),
                  previous_case=_case(state="En curso"), previous_contact=CONTACT,
                  message={**FOLLOW_UP, "author": "Jorge Díaz <jorge.diaz@example.net>"}),
    ),
    "escalation": (
        _customer(escalation=_ESCALATION, entries=[CUSTOMER_MAIL]),
        _customer(case=_case(state="En curso", owner="Andrés Gómez", priority="2 - Alta"),
                  escalation={**_ESCALATION, "level": 2, "name": "Coordinador de soporte", "breached": "resolution",
                              "target": "1 día hábil", "waiting": "1 día 2 h",
                              "tried": [*_ESCALATION["tried"], {"level": 1, "name": "Supervisor de soporte",
                                                                "at": "2026-11-23 13:15 (America/Bogota)"}]},
                  entries=[CUSTOMER_MAIL, AGENT_REPLY, FOLLOW_UP]),
    ),
    "escalation_agents": (
        _customer(escalation=_ESCALATION, entries=[CUSTOMER_MAIL]),
        _customer(case=_case(owner="Andrés Gómez"), escalation={**_ESCALATION, "breached": "resolution"},
                  entries=[]),
    ),
    "resolution_breach": (
        _customer(case=_case(state="En curso", owner="Andrés Gómez"),
                  escalation={**_ESCALATION, "breached": "resolution", "target": "3 días hábiles",
                              "waiting": "3 días 1 h", "due_at": "2026-11-26 09:15 (America/Bogota)"},
                  entries=[CUSTOMER_MAIL, AGENT_REPLY, FOLLOW_UP]),
        _customer(escalation={**_ESCALATION, "level": 0, "name": "Agentes de Mesa de ayuda", "breached": "resolution",
                              "target": "3 días hábiles", "tried": []},
                  entries=[]),
    ),
    "reminder": (
        _customer(case=_case(state="En espera", owner="Andrés Gómez"),
                  reminder={"since": "2026-11-23 10:02 (America/Bogota)", "last_reply": AGENT_REPLY}),
        _customer(contact={**CONTACT, "name": ""}, case=_case(state="En espera"),
                  reminder={"since": "2026-11-23 10:02 (America/Bogota)", "last_reply": None}),
    ),
    "closing": (
        _customer(case=_case(state="Cerrado", owner="Andrés Gómez"),
                  closing={"resolved_at": "2026-11-24 16:30 (America/Bogota)", "survey_url": "",
                           "survey_links": _SURVEY_LINKS}),
        _customer(case=_case(state="Cerrado"),
                  closing={"resolved_at": "2026-11-24 16:30 (America/Bogota)",
                           "survey_url": "https://encuesta.example.com/satisfaccion?caso=CS0000001",
                           "survey_links": []}),
    ),
}
MAILS: tuple[str, ...] = tuple(SAMPLES)


def samples(name: str) -> tuple[dict[str, Any], ...]:
    """Every context of the mail, deep-copied so a caller may change them; KeyError for an unknown mail."""
    return copy.deepcopy(SAMPLES[name])


def sample(name: str) -> dict[str, Any]:
    """The mail's sample context, for `templates preview` without a real case."""
    return samples(name)[0]
