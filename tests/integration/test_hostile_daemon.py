"""The hostile corpus through the real daemon: one `mailbot run --once` takes every mail in tests/data/hostile/
into exactly one case, a recorded non-case, or quarantine with a one-line reason, and leaves the inbox empty."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from mailbot.desk.models import Case, Outcome, Receipt
from tests.conftest import Desk

HOSTILE = Path(__file__).resolve().parent.parent / "data" / "hostile"
ROOT = Path(__file__).resolve().parents[2]


def test_every_hostile_mail_ends_in_a_case_or_in_quarantine_with_a_reason(desk: Desk) -> None:
    # As the desk's mail server stores them: bytes as they came. An IMAP server stores no zero-byte message.
    files = [path for path in sorted(HOSTILE.glob("*.eml")) if path.stat().st_size > 0]
    with desk.imap() as client:
        for path in files:
            client.append("INBOX", path.read_bytes())
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "mailbot", "--config", str(desk.config_path), "run", "--once"],
                          env=env, capture_output=True, text=True, timeout=300)

    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr, done.stderr[-4000:]
    assert desk.folder("INBOX") == []
    assert len(desk.folder("Procesados")) + len(desk.folder("Cuarentena")) == len(files)
    with desk.session() as session:
        receipts = session.scalars(select(Receipt)).all()
        assert len(receipts) == len(files)
        for receipt in receipts:
            assert receipt.reason == " ".join(receipt.reason.split()) and len(receipt.reason) < 500, receipt.reason
            if receipt.outcome in (Outcome.NEW_CASE, Outcome.FOLLOW_UP):
                assert receipt.case_id is not None
            if receipt.outcome is Outcome.QUARANTINE:
                assert receipt.reason, receipt.uid
        opened = [r.case_id for r in receipts if r.outcome is Outcome.NEW_CASE]
        assert len(opened) == len(set(opened))
        for case in session.scalars(select(Case)):
            assert case.subject == " ".join(case.subject.split()) and len(case.subject) <= 255, case.subject
            assert not any(ord(ch) < 32 or 0x7f <= ord(ch) <= 0x9f for ch in case.subject), case.subject
            assert "@" in case.contact.email and "\n" not in case.contact.email
