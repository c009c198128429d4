"""The layers stay apart: the protocol edge never imports the desk, and an installed mailbot needs no demo parts."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "mailbot"


def _imports(path: Path) -> set[str]:
    """Absolute names of the mailbot modules `path` imports (relative imports resolved)."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - node.level + 1]
                name = ".".join([*base, *([node.module] if node.module else [])])
            else:
                name = node.module or ""
            found.add(name)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("mailbot")}


def test_the_protocol_edge_imports_nothing_of_the_desk_or_the_runners() -> None:
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(n for n in _imports(path)
                                               if n.startswith(("mailbot.desk", "mailbot.runners", "mailbot.app")))
        for path in (PACKAGE / "mail").glob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_desk_imports_nothing_of_the_runners() -> None:
    offenders = {str(p.relative_to(PACKAGE)): sorted(n for n in _imports(p) if n.startswith("mailbot.runners"))
                 for p in (PACKAGE / "desk").rglob("*.py")}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_daemon_and_the_cli_load_nothing_of_the_demo() -> None:
    code = ("import sys, mailbot.cli, mailbot.daemon; "
            "print(sorted(m for m in sys.modules if m.startswith(('aiosmtpd', 'mailbot.servers', 'mailbot.demo'))))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "[]"
