"""The hint `cases show` gives for a number that is not one: what the operator meant is itself a valid number."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from mailbot.cli.cases import number_hint


@given(st.integers(min_value=1, max_value=9_999_999), st.from_regex(r"[A-Z]{1,6}", fullmatch=True))
def test_a_bare_number_is_offered_as_the_full_case_number(value: int, prefix: str) -> None:
    hint = number_hint(prefix, str(value))
    meant = re.fullmatch(rf" \(did you mean ({prefix}\d{{7}})\?\)", hint)
    assert meant is not None and number_hint(prefix, meant.group(1)) == ""
    assert int(meant.group(1)[len(prefix):]) == value
