"""The portal is a layer of its own: the daemon and the other commands start without the web stack."""

from __future__ import annotations

import subprocess
import sys


def test_the_daemon_and_the_cli_load_no_web_framework() -> None:
    code = ("import sys, mailbot.cli, mailbot.daemon; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('starlette', 'uvicorn', 'multipart') "
            "or m.startswith('mailbot.portal')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "[]"


def test_mailbot_portal_is_a_command() -> None:
    result = subprocess.run([sys.executable, "-m", "mailbot", "portal", "--help"], capture_output=True, text=True,
                            timeout=60, check=True)
    assert "Serve the customer portal" in result.stdout
