"""`mailbot templates check` and `preview`: find what an admin broke in the templates, show a mail before it goes."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import TemplateSyntaxError, meta, nodes

from .config import LANGUAGES
from .template_samples import MAILS, SAMPLES, sample
from .templates import Rendered, TemplateError, Templates

# The names a template may use besides its context: set by the renderer, or Jinja's own.
RENDERER_NAMES = frozenset({"lang", "subject"})
_TEMPLATE_FILE = re.compile(r"(?P<stem>[^.]+)\.(?:txt|html)\.j2")


@dataclass(frozen=True)
class Problem:
    file: str
    line: int  # 0 when the problem is the file as a whole
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}" if self.line else f"{self.file}: {self.message}"


PORTAL_PAGES = "portal"  # templates/portal/: the customer portal's pages; a queue may not be called so


def check(templates: Templates, queues: Sequence[str]) -> list[Problem]:
    """Everything to fix before these templates go out: each mail compiled and rendered with every sample context,
    in each language and with each queue's overrides; then, in every file, what the samples may not reach: unknown
    variables and Python internals in other branches, `|safe`, and files or folders mailbot never reads."""
    problems: list[Problem] = []
    folders = list(_folders(templates.path, queues, problems))
    for queue, language, folder in folders:
        if queue is None:
            problems += [Problem(str(folder / f"{name}.txt.j2"), 0,
                                 f"missing: the {language} mail falls back to another language")
                         for name in MAILS if not (folder / f"{name}.txt.j2").is_file()]
        for file in sorted(folder.iterdir()):
            problems += _check_file(templates, file)
    return _one_per_line([*problems, *_render_all(templates, [q for q, _, _ in folders])])


def preview(templates: Templates, name: str, language: str, queue: str | None = None,
            context: Mapping[str, Any] | None = None) -> Rendered:
    """The mail as the desk would send it now, from `context` (a real case's) or the mail's sample context. Never
    the last good version: a broken file raises its TemplateError. To show a real queue's name, address and hours
    with sample data, pass `{**sample(name), **desk_and_queue}`."""
    if context is None:
        if name not in SAMPLES:
            raise TemplateError(f"no mail named {name!r}; the mails are {', '.join(MAILS)}")
        context = sample(name)
        if queue:
            context["queue"] = {**context["queue"], "key": queue}
    return templates.render(name, language, context, queue, fallback=False)


def _render_all(templates: Templates, queues: list[str | None]) -> Iterator[Problem]:
    """Every mail rendered with each sample context, in each language, for the defaults and each queue."""
    for queue in dict.fromkeys(queues):
        for language in LANGUAGES:
            for name in MAILS:
                for context in SAMPLES[name]:
                    try:
                        templates.render(name, language, context, queue, fallback=False)
                    except TemplateError as error:
                        yield Problem(error.file or str(templates.path), error.line, error.message)


def _one_per_line(problems: list[Problem]) -> list[Problem]:
    """The first problem of each line: a broken partial makes many mails fail, and one line may break two rules."""
    first: dict[tuple[str, int, str], Problem] = {}
    for problem in problems:
        first.setdefault((problem.file, problem.line, "" if problem.line else problem.message), problem)
    return list(first.values())


def _folders(root: Path, queues: Sequence[str], problems: list[Problem]) -> Iterator[tuple[str | None, str, Path]]:
    """(queue or None, language, folder) for every folder mailbot reads; a problem for each one it never reads."""
    for child in sorted(root.iterdir()):
        if child.name.startswith(".") or not child.is_dir() or child.name == PORTAL_PAGES:
            continue  # the portal's pages are web pages, not mails (mailbot/portal/pages.py reads them)
        if child.name in LANGUAGES:
            yield None, child.name, child
        elif child.name in queues:
            for sub in sorted(child.iterdir()):
                if sub.is_dir() and sub.name in LANGUAGES:
                    yield child.name, sub.name, sub
                elif not sub.name.startswith("."):
                    problems.append(Problem(str(sub), 0, f"never read: a queue's templates go in "
                                                         f"{child.name}/<language>/, language one of "
                                                         f"{', '.join(LANGUAGES)}"))
        else:
            problems.append(Problem(str(child), 0, f"never read: neither a language ({', '.join(LANGUAGES)}) nor "
                                                   f"a configured queue ({', '.join(queues) or 'none'})"))


def _check_file(templates: Templates, file: Path) -> Iterator[Problem]:
    """One file on its own: its name, its syntax, and the names it uses against its mail's samples."""
    if file.name.startswith(".") or file.name.endswith("~"):
        return
    match = _TEMPLATE_FILE.fullmatch(file.name)
    stem = match["stem"] if match else ""
    if not (stem in MAILS or stem.startswith("_")):
        yield Problem(str(file), 0, f"never read: mails are <name>.txt.j2 and <name>.html.j2 with name one of "
                                    f"{', '.join(MAILS)}; partials start with _")
        return
    try:
        tree = templates.environment.parse(file.read_text(encoding="utf-8"), file.name, str(file))
    except TemplateSyntaxError as exc:
        yield Problem(str(file), exc.lineno, exc.message or str(exc))
        return
    except UnicodeDecodeError:
        yield Problem(str(file), 0, "not UTF-8: save the file as UTF-8")
        return
    yield from (Problem(str(file), line, message) for line, message in _unsafe(tree))
    shape = _shape(SAMPLES[stem] if stem in MAILS else [c for contexts in SAMPLES.values() for c in contexts])
    known = set(shape) | RENDERER_NAMES | set(templates.environment.globals)
    yield from (Problem(str(file), line, message) for line, message in _unknown(tree, shape, known))


def _unsafe(tree: nodes.Template) -> Iterator[tuple[int, str]]:
    """What the sandbox refuses at render time, found in every branch; and what turns escaping off."""
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter, nodes.ScopedEvalContextModifier)):
        if isinstance(node, nodes.Getattr) and node.attr.startswith("_"):
            yield node.lineno, f"not allowed: {node.attr!r} reaches Python internals, which the sandbox refuses"
        elif (isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const)
              and isinstance(node.arg.value, str) and node.arg.value.startswith("_")):
            yield node.lineno, f"not allowed: {node.arg.value!r} reaches Python internals, which the sandbox refuses"
        elif isinstance(node, nodes.Filter) and node.name == "safe":
            yield node.lineno, "not allowed: |safe turns HTML escaping off, so a customer's text could inject HTML"
        elif isinstance(node, nodes.ScopedEvalContextModifier) and any(
                o.key == "autoescape" for o in node.options):
            yield node.lineno, "not allowed: {% autoescape %} changes HTML escaping, which the desk relies on"


def _unknown(tree: nodes.Template, shape: Mapping[str, Any], known: set[str]) -> Iterator[tuple[int, str]]:
    """Variables the context does not have, in branches the samples may not reach: `{{ cliente }}` by name,
    `{{ case.numero }}` by the shape of the samples (a name the template assigns itself is not checked)."""
    undeclared = meta.find_undeclared_variables(tree)
    assigned = {n.name for n in tree.find_all(nodes.Name) if n.ctx != "load"}
    reported: set[str] = set()
    for node in tree.find_all(nodes.Name):
        if node.name in undeclared and node.name not in known and node.name not in reported:
            reported.add(node.name)
            yield node.lineno, f"unknown variable: {node.name!r} (the context has {', '.join(sorted(shape))})"
    for getattr_node in tree.find_all(nodes.Getattr):
        path = _path(getattr_node)
        if not path or path[0] not in undeclared or path[0] in assigned:
            continue
        value: Any = shape
        for depth, key in enumerate(path):
            if not isinstance(value, Mapping):
                break
            if key not in value:
                dotted = ".".join(path[: depth + 1])
                if dotted not in reported and depth:  # a missing top-level name was reported above
                    reported.add(dotted)
                    yield getattr_node.lineno, f"unknown variable: {dotted} ({'.'.join(path[:depth])} has " \
                                               f"{', '.join(sorted(value))})"
                break
            value = value[key]


def _path(node: nodes.Getattr) -> list[str]:
    """`case.contact.name` → ['case', 'contact', 'name']; [] when the chain does not start at a plain name."""
    attrs: list[str] = []
    current: nodes.Node = node
    while isinstance(current, nodes.Getattr):
        attrs.append(current.attr)
        current = current.node
    return [current.name, *reversed(attrs)] if isinstance(current, nodes.Name) else []


def _shape(contexts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The contexts merged: every key any of them has, a dict wherever one of them has a dict (others: None)."""
    merged: dict[str, Any] = {}
    for context in contexts:
        for key, value in context.items():
            if isinstance(value, Mapping):
                previous = merged.get(key)
                merged[key] = _shape([previous, value] if isinstance(previous, Mapping) else [value])
            elif key not in merged or merged[key] is None:
                merged[key] = value
    return merged
