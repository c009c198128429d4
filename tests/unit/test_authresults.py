"""Unit tests for mailbot.mail.authresults: which Authentication-Results headers prove an agent's domain, and
which prove that the From address's domain sent a mail."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailbot.mail.authresults import from_domain_pass, verified_domain_pass

TRUSTED = ["mx.example.com"]
AGENTS = "example.org"

OPENDKIM = (
    "mx.example.com; dkim=pass (2048-bit key; unprotected) header.d=example.org header.i=@example.org"
    " header.a=rsa-sha256 header.s=sel1 header.b=AbCdEf12"
)
GMAIL_STYLE = (
    "mx.example.com;\t dkim=pass header.i=@example.org header.s=20230601 header.b=Xy1;\t spf=pass"
    " (mx.example.com: domain of agente@example.org designates 192.0.2.7 as permitted sender)"
    " smtp.mailfrom=agente@example.org;\t dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=example.org"
)
EXCHANGE_STYLE = (
    "mx.example.com; spf=pass (sender IP is 192.0.2.7) smtp.mailfrom=example.org; dkim=pass"
    " (signature was verified) header.d=example.org;dmarc=pass action=none header.from=example.org;compauth=pass"
    " reason=100"
)
RSPAMD = (
    "mx.example.com; dkim=pass header.d=example.org header.s=dkim header.b=abc; spf=pass"
    " (mx.example.com: domain of agente@example.org designates 192.0.2.7 as permitted sender)"
    " smtp.mailfrom=agente@example.org; dmarc=pass (policy=reject) header.from=example.org"
)


@pytest.mark.parametrize(
    ("headers", "trusted", "domain", "expected"),
    [
        ([OPENDKIM], TRUSTED, AGENTS, "dkim"),
        ([RSPAMD], TRUSTED, AGENTS, "dkim"),
        ([EXCHANGE_STYLE], TRUSTED, AGENTS, "dkim"),
        # Gmail-style: the DKIM clause names only header.i, so the proof is SPF's smtp.mailfrom address.
        ([GMAIL_STYLE], TRUSTED, AGENTS, "spf"),
        (["mx.example.com; spf=pass smtp.mailfrom=example.org"], TRUSTED, AGENTS, "spf"),
        (["mx.example.com; spf=pass header.from=example.org"], TRUSTED, AGENTS, "spf"),
        (["mx.example.com; spf=pass smtp.mailfrom=agente@example.org; dkim=pass header.d=example.org"],
         TRUSTED, AGENTS, "dkim"),
        # case and a trailing dot do not matter
        (["MX.Example.COM; DKIM=Pass header.d=Example.ORG."], TRUSTED, AGENTS, "dkim"),
        ([OPENDKIM], ["MX.EXAMPLE.COM"], "EXAMPLE.ORG", "dkim"),
        # several headers: the trusted one decides, untrusted ones are ignored
        (["relay.example.net; dkim=pass header.d=example.org", OPENDKIM], TRUSTED, AGENTS, "dkim"),
        # untrusted, failing, neutral or unrelated results prove nothing
        ([OPENDKIM], ["relay.example.net"], AGENTS, None),
        ([OPENDKIM], [], AGENTS, None),
        (["relay.example.net; dkim=pass header.d=example.org"], TRUSTED, AGENTS, None),
        (["mx.example.com; dkim=fail (bad signature) header.d=example.org"], TRUSTED, AGENTS, None),
        (["mx.example.com; dkim=neutral (no key) header.d=example.org"], TRUSTED, AGENTS, None),
        (["mx.example.com; dkim=temperror header.d=example.org"], TRUSTED, AGENTS, None),
        (["mx.example.com; spf=softfail smtp.mailfrom=example.org"], TRUSTED, AGENTS, None),
        (["mx.example.com; dkim=pass header.d=example.net"], TRUSTED, AGENTS, None),
        (["mx.example.com; dkim=pass header.d=mail.example.org"], TRUSTED, AGENTS, None),
        (["mx.example.com; dkim=pass header.d=example.org.example.net"], TRUSTED, AGENTS, None),
        (["mx.example.com; dkim=pass header.i=@example.org"], TRUSTED, AGENTS, None),
        (["mx.example.com; dmarc=pass header.from=example.org"], TRUSTED, AGENTS, None),
        (["mx.example.com; spf=pass smtp.helo=example.org"], TRUSTED, AGENTS, None),
        (["mx.example.com; none"], TRUSTED, AGENTS, None),
        ([], TRUSTED, AGENTS, None),
        ([OPENDKIM], TRUSTED, "", None),
        # malformed headers count as absent, never raise
        (["spf=pass smtp.mailfrom=example.org; dkim=pass header.d=example.org"], TRUSTED, AGENTS, None),
        (["mx.example.com; dkim=pass header.d=example.org; ;;"], TRUSTED, AGENTS, None),
        (["", "garbage ;;; ===", "mx.example.com;"], TRUSTED, AGENTS, None),
        (["mx.example.com 2; dkim=pass header.d=example.org"], TRUSTED, AGENTS, None),  # unknown version
    ],
    ids=[
        "opendkim", "rspamd", "exchange-style", "gmail-style-spf", "spf-mailfrom-domain", "spf-header-from",
        "dkim-preferred-over-spf", "case-and-trailing-dot", "trusted-id-case", "untrusted-header-ignored",
        "untrusted-id", "no-trusted-ids", "only-untrusted-header", "dkim-fail", "dkim-neutral", "dkim-temperror",
        "spf-softfail", "other-domain", "subdomain-is-not-the-domain", "look-alike-suffix", "header-i-only",
        "dmarc-alone", "spf-helo-only", "none", "no-headers", "empty-domain", "no-authserv-id",
        "trailing-garbage", "garbage", "unsupported-version",
    ],
)
def test_verified_domain_pass(headers: list[str], trusted: list[str], domain: str, expected: str | None) -> None:
    assert verified_domain_pass(headers, trusted, domain) == expected


@given(st.lists(st.text(max_size=200), max_size=3), st.sampled_from(["example.org", "", "mx.example.com"]))
def test_any_header_text_gives_a_method_or_none_and_never_raises(headers: list[str], domain: str) -> None:
    assert verified_domain_pass(headers, TRUSTED, domain) in ("dkim", "spf", None)


@given(st.text(alphabet="mx.example.com;=() dkimpasheaderd", max_size=120))
def test_near_miss_headers_never_raise(value: str) -> None:
    assert verified_domain_pass([value], TRUSTED, AGENTS) in ("dkim", "spf", None)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([RSPAMD], "dmarc"),
        ([EXCHANGE_STYLE], "dmarc"),
        ([GMAIL_STYLE], "dmarc"),
        ([OPENDKIM], "dkim"),  # a signature of the From's own domain is aligned
        (["MX.Example.COM; DMARC=Pass header.from=Example.ORG."], "dmarc"),
        # SPF vouches for the envelope sender, not for the From header
        (["mx.example.com; spf=pass smtp.mailfrom=example.org"], None),
        (["mx.example.com; spf=pass smtp.mailfrom=bounces@evil.example.net header.from=example.org"], None),
        (["mx.example.com; dmarc=fail header.from=example.org"], None),
        (["mx.example.com; dmarc=pass header.from=example.net"], None),
        (["mx.example.com; dkim=pass header.d=evil.example.net; dmarc=none header.from=example.org"], None),
        (["relay.example.net; dmarc=pass header.from=example.org"], None),
        (["dmarc=pass header.from=example.org"], None),
        ([], None),
    ],
    ids=["rspamd", "exchange-style", "gmail-style", "aligned-dkim", "case-and-trailing-dot", "spf-only",
         "spf-clause-header-from", "dmarc-fail", "dmarc-other-domain", "dkim-of-another-domain", "untrusted",
         "malformed", "no-headers"],
)
def test_from_domain_pass(headers: list[str], expected: str | None) -> None:
    assert from_domain_pass(headers, TRUSTED, AGENTS) == expected
