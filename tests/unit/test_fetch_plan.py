"""Batches under a byte budget, mail over the cap left unread with its reason, and where COPYUID put each message."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailbot.mail.copyuid import copyuid, uid_set
from mailbot.mail.fetch_plan import Planned, megabytes, plan, too_large
from mailbot.mail.head import Head, read_head

MB = 1_000_000


@pytest.mark.parametrize(
    ("sizes", "expected"),
    [
        ([], []),
        ([(1, 10), (2, 10), (3, 10)], [Planned((1, 2, 3), (1, 2, 3), {})]),
        ([(1, 60), (2, 60), (3, 10)], [Planned((1,), (1,), {}), Planned((2, 3), (2, 3), {})]),
        ([(1, 150)], [Planned((1,), (1,), {})]),
        ([(1, 10), (2, 300), (3, 10)],
         [Planned((1, 2, 3), (1, 3), {2: "larger than the 200 bytes limit (300 bytes)"})]),
        ([(1, 300), (2, 300)], [Planned((1, 2), (), {1: too_large(300, 200), 2: too_large(300, 200)})]),
        ([(1, "the IMAP server could not return it: [SERVERBUG]"), (2, 10)],
         [Planned((1, 2), (2,), {1: "the IMAP server could not return it: [SERVERBUG]"})]),
    ],
    ids=["nothing", "all-fit", "budget-splits", "one-over-budget-comes-alone", "over-cap-costs-nothing",
         "only-over-cap", "size-refused-by-server"],
)
def test_plan_splits_by_budget_and_skips_over_the_cap(sizes: list[tuple[int, int | str]],
                                                       expected: list[Planned]) -> None:
    assert plan(sizes, max_size=200, budget=100) == expected


@given(st.lists(st.integers(1, 500), max_size=40), st.integers(1, 300), st.integers(1, 300))
def test_plan_keeps_order_and_every_batch_within_budget(sizes: list[int], max_size: int, budget: int) -> None:
    rows = [(uid, size) for uid, size in enumerate(sizes, start=1)]
    batches = plan(rows, max_size, budget)
    assert [uid for batch in batches for uid in batch.uids] == [uid for uid, _ in rows]
    weight = dict(rows)
    for batch in batches:
        assert batch.fetch or batch.skip
        assert len(batch.fetch) == 1 or sum(weight[uid] for uid in batch.fetch) <= budget
        assert all(weight[uid] > max_size for uid in batch.skip)
        assert all(weight[uid] <= max_size for uid in batch.fetch)


@pytest.mark.parametrize(
    ("size", "limit", "reason"),
    [
        (30 * 2**20, 25 * MB, "larger than the 25 MB limit (31 MB)"),
        (2_500_000, 2 * MB, "larger than the 2 MB limit (2.5 MB)"),
        (25_400_000, 25 * MB, "larger than the 25,000,000-byte limit (25,400,000 bytes)"),
        (3 * 10**9, 2 * 10**9, "larger than the 2 GB limit (3 GB)"),
        (12_000, 10_000, "larger than the 10 kB limit (12 kB)"),
    ],
    ids=["brief-example", "fraction", "same-when-rounded-says-bytes", "gigabytes", "kilobytes"],
)
def test_the_reason_names_the_limit_and_the_size(size: int, limit: int, reason: str) -> None:
    assert too_large(size, limit) == reason


def test_megabytes_below_a_kilobyte_says_bytes() -> None:
    assert megabytes(999) == "999 bytes"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"1795555664 1:2 5:6", (1795555664, {1: 5, 2: 6})),
        (b"7 4,9:10 1:3", (7, {4: 1, 9: 2, 10: 3})),
        (b"7 3 12", (7, {3: 12})),
    ],
    ids=["ranges", "list-and-range", "single"],
)
def test_copyuid_maps_source_to_destination_uids(data: bytes, expected: tuple[int, dict[int, int]]) -> None:
    assert copyuid(data) == expected


@pytest.mark.parametrize(
    "data", [b"", b"7 1:2 5", b"x 1 2", b"7 0 1", b"7 1:2"],
    ids=["empty", "sets-differ", "not-a-number", "uid-zero", "one-set"],
)
def test_a_malformed_copyuid_is_refused(data: bytes) -> None:
    with pytest.raises(ValueError):
        copyuid(data)


@given(st.lists(st.integers(1, 2**32 - 1), min_size=1, max_size=30, unique=True))
def test_uid_set_reads_what_a_server_writes(uids: list[int]) -> None:
    assert uid_set(",".join(map(str, uids))) == uids


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"From: =?utf-8?q?Mar=C3=ADa?= <maria@example.org>\r\nSubject: Hola\r\n\r\nbody",
         Head("María <maria@example.org>", "Hola", "", "")),
        (b"Subject: \xc3\xa9t\xc3\xa9\r\nDate: Tue, 24 Nov 2026 09:15:00 -0500\r\n",
         Head("", "été", "Tue, 24 Nov 2026 09:15:00 -0500", "")),
        (b"Subject: caf\xe9\r\n", Head("", "café", "", "")),
        (b"Subject: uno\r\n\tdos\x1b]0;pwned\x07\r\nMessage-ID: <a@example.org>\r\n",
         Head("", "uno dos]0;pwned", "", "<a@example.org>")),
        (b"Subject: " + b"x" * 5000 + b"\r\n", Head("", "x" * 199 + "…", "", "")),
        (b"Subject: cut in the mid", Head("", "cut in the mid", "", "")),
        (b"", Head("", "", "", "")),
    ],
    ids=["encoded-name", "8bit-utf8-and-date", "8bit-latin1", "folded-with-controls", "capped", "partial",
         "empty"],
)
def test_read_head_gives_one_capped_line_per_field(data: bytes, expected: Head) -> None:
    assert read_head(data) == expected


@given(st.binary(max_size=600))
def test_read_head_never_fails_and_never_spans_lines(data: bytes) -> None:
    head = read_head(data)
    for value in (head.sender, head.subject, head.date, head.message_id):
        assert "\n" not in value and "\r" not in value and len(value) <= 255
