"""`mailbot templates check|preview`: what an admin runs after editing a mail template."""

from __future__ import annotations

import argparse
from typing import Any

from ..config import LANGUAGES, Config, QueueConfig
from ..desk.models import MailKind
from ..desk.preview import case_context
from ..mail.compose import address
from ..mail.sanitize import terminal_safe
from ..template_check import check, preview
from ..template_samples import MAILS, sample
from ..templates import TemplateError, Templates
from .cases import find_case
from .output import EXIT_FAILURE, EXIT_OK, UserError, examples, read_session

EXAMPLES = """\
examples:
  mailbot --config /etc/mailbot/mailbot.toml templates check
  mailbot --config /etc/mailbot/mailbot.toml templates preview ack --queue mesadeayuda --language en --html
  mailbot --config /etc/mailbot/mailbot.toml templates preview reminder --case CS0000001"""


def register(commands: Any) -> None:
    group = commands.add_parser("templates", help="check or preview the mail templates", epilog=EXAMPLES,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = group.add_subparsers(required=True, metavar="ACTION")
    checking = actions.add_parser("check", help="compile and render every mail, in each language and with each "
                                                "queue's overrides, with sample data; exit 1 on any problem",
                                  **examples("mailbot templates check"))
    checking.set_defaults(handler=cmd_check)
    show = actions.add_parser("preview", help="print one mail with its headers, rendered from sample data or a real "
                                              "case, as it would be sent",
                              **examples("mailbot templates preview ack --queue mesadeayuda --language en --html",
                                         "mailbot templates preview reminder --case CS0000001"))
    show.add_argument("name", choices=MAILS, metavar="NAME", help=f"the mail: {', '.join(MAILS)}")
    show.add_argument("--queue", help="a queue's key: its overrides, its name, address and hours (default: the "
                                      "case's queue with --case)")
    show.add_argument("--case", metavar="CS0000001", help="render from this case (its customer, queue, language "
                                                         "and last entries) instead of sample data")
    show.add_argument("--language", choices=LANGUAGES, help="default: the case's, else [desk] language")
    show.add_argument("--html", action="store_true", help="print the HTML part instead of the text part")
    show.set_defaults(handler=cmd_preview)


def cmd_check(config: Config, args: argparse.Namespace) -> int:
    problems = check(Templates(config.templates_path), [q.key for q in config.queues])
    for problem in problems:
        print(problem)
    if problems:
        return EXIT_FAILURE
    print(f"{config.templates_path}: every mail renders")
    return EXIT_OK


def cmd_preview(config: Config, args: argparse.Namespace) -> int:
    queue: QueueConfig | None
    if args.case:
        with read_session(config) as session:
            case = find_case(session, config, args.case)
            queue = _queue(config, args.queue or case.queue)
            context = case_context(session, config, queue, case, args.name)
            language = args.language or case.language
    else:
        context = sample(args.name)
        queue = _queue(config, args.queue) if args.queue else None
        if queue is not None:
            context["queue"] = {"key": queue.key, "name": queue.name, "address": queue.address,
                                "hours_text": queue.hours_text}
        context["desk"] = {**context.get("desk", {}), "name": config.desk.name, "portal_url": config.desk.portal_url}
        language = args.language or config.desk.language
    try:
        rendered = preview(Templates(config.templates_path), args.name, language, queue.key if queue else None,
                           context)
    except TemplateError as exc:
        raise UserError(str(exc)) from None
    body = rendered.text if not args.html else rendered.html or "(this mail has no HTML part)"
    # A real case's mail quotes what customers wrote: shown, never obeyed, by the terminal.
    print(terminal_safe(f"{_headers(config, args.name, context, queue, rendered.subject)}\n\n{body}"))
    return EXIT_OK


def _queue(config: Config, key: str) -> QueueConfig:
    try:
        return config.queue(key)
    except KeyError:
        raise UserError(f"no queue {key!r}; the queues are {', '.join(q.key for q in config.queues)}") from None


def _headers(config: Config, name: str, context: dict[str, Any], queue: QueueConfig | None, subject: str) -> str:
    """From, To and Subject as the mail would carry them (desk/rendering.py); staff mail names its people."""
    sender = address(config.smtp.from_name or context["queue"]["name"], context["queue"]["address"])
    contact = context.get("contact") or {}
    if MailKind(name).to_customer and contact:
        to = str(address(contact["name"], contact["email"]))
    else:
        to = ", ".join(queue.agent_recipients) if queue and queue.agent_recipients else "(the desk's agents)"
    return f"From: {sender}\nTo: {to}\nSubject: {subject}"
