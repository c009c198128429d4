"""`mailbot templates check|preview`: what an admin runs after editing a mail template."""

from __future__ import annotations

import argparse
from typing import Any

from ..config import LANGUAGES, Config
from ..template_check import check, preview
from ..template_samples import MAILS, sample
from ..templates import TemplateError, Templates
from .output import EXIT_FAILURE, EXIT_OK, UserError

EXAMPLES = """\
examples:
  mailbot --config /etc/mailbot/mailbot.toml templates check
  mailbot --config /etc/mailbot/mailbot.toml templates preview ack --queue mesadeayuda --language en --html"""


def register(commands: Any) -> None:
    group = commands.add_parser("templates", help="check or preview the mail templates", epilog=EXAMPLES,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = group.add_subparsers(required=True, metavar="ACTION")
    checking = actions.add_parser("check", help="compile and render every mail, in each language and with each "
                                                "queue's overrides, with sample data; exit 1 on any problem")
    checking.set_defaults(handler=cmd_check)
    show = actions.add_parser("preview", help="print one mail rendered from sample data, as it would be sent")
    show.add_argument("name", choices=MAILS, metavar="NAME", help=f"the mail: {', '.join(MAILS)}")
    show.add_argument("--queue", help="a queue's key: its overrides, its name, address and hours")
    show.add_argument("--language", choices=LANGUAGES, help="default: [desk] language")
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
    context = sample(args.name)
    if args.queue:
        try:
            queue = config.queue(args.queue)
        except KeyError:
            raise UserError(f"no queue {args.queue!r}; the queues are {', '.join(q.key for q in config.queues)}")
        context["queue"] = {"key": queue.key, "name": queue.name, "address": queue.address,
                            "hours_text": queue.hours_text}
    context["desk"] = {**context.get("desk", {}), "name": config.desk.name, "portal_url": config.desk.portal_url}
    try:
        rendered = preview(Templates(config.templates_path), args.name, args.language or config.desk.language,
                           args.queue, context)
    except TemplateError as exc:
        raise UserError(str(exc)) from None
    print(f"Subject: {rendered.subject}\n")
    if args.html:
        print(rendered.html if rendered.html is not None else "(this mail has no HTML part)")
    else:
        print(rendered.text)
    return EXIT_OK
