"""contrib/mailbot.service is a unit systemd accepts, starting the documented command with its hardening."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parent.parent.parent / "contrib" / "mailbot.service"
EXEC_START = "ExecStart=/usr/bin/mailbot --config /etc/mailbot/mailbot.toml run"


def settings() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        if line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            found.setdefault(key, []).append(value)
    return found


def test_the_unit_runs_the_daemon_unprivileged_on_a_read_only_system() -> None:
    unit = settings()
    assert "ExecStart=" + unit["ExecStart"][0] == EXEC_START
    assert unit["User"] == ["mailbot"] and unit["NoNewPrivileges"] == ["yes"]
    assert unit["ProtectSystem"] == ["strict"] and unit["ReadWritePaths"] == ["/var/lib/mailbot"]
    assert unit["Restart"] == ["on-failure"] and unit["RestartPreventExitStatus"] == ["2"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    # verify also checks that ExecStart's program exists: stand in an executable that does for /usr/bin/mailbot.
    copy = tmp_path / "mailbot.service"
    copy.write_text(UNIT.read_text().replace("/usr/bin/mailbot", shutil.which("true") or "/bin/true"))

    result = subprocess.run(["systemd-analyze", "verify", str(copy)], capture_output=True, text=True, timeout=60)

    assert (result.returncode, result.stderr) == (0, "")
