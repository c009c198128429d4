"""The package type-checks under mypy --strict (configuration in pyproject.toml)."""

import subprocess
import sys
from pathlib import Path


def test_mailbot_type_checks_strictly() -> None:
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=root, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
