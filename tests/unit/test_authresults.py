"""Unit tests for mailbot.mail.authresults: which Authentication-Results headers prove an agent's own address,
and which prove that the From address's domain sent a mail."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailbot.mail.authresults import from_domain_passes, verified_sender_pass

TRUSTED = ["mx.example.com"]
AGENT = "agente@example.org"

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
    ("headers", "trusted", "address", "expected"),
    [
        # SPF's pass for the agent's own address as envelope sender, or a DKIM signature whose AUID is the agent
        ([RSPAMD], TRUSTED, AGENT, "spf"),
        ([GMAIL_STYLE], TRUSTED, AGENT, "spf"),
        (["mx.example.com; dkim=pass header.d=example.org header.i=agente@example.org"], TRUSTED, AGENT, "dkim"),
        (["mx.example.com; spf=pass smtp.mailfrom=agente@example.org; dkim=pass header.i=agente@example.org"],
         TRUSTED, AGENT, "dkim"),
        # case and a trailing dot do not matter
        (["MX.Example.COM; SPF=Pass smtp.mailfrom=Agente@Example.ORG."], TRUSTED, AGENT, "spf"),
        ([RSPAMD], ["MX.EXAMPLE.COM"], "AGENTE@EXAMPLE.ORG", "spf"),
        # several headers: the trusted one decides, untrusted ones are ignored
        (["relay.example.net; spf=pass smtp.mailfrom=otro@example.org", RSPAMD], TRUSTED, AGENT, "spf"),
        # domain-level evidence proves the domain, not the person: any mailbox of it could have sent the mail
        ([OPENDKIM], TRUSTED, AGENT, None),
        ([EXCHANGE_STYLE], TRUSTED, AGENT, None),
        (["mx.example.com; dkim=pass header.d=example.org"], TRUSTED, AGENT, None),
        (["mx.example.com; spf=pass smtp.mailfrom=example.org"], TRUSTED, AGENT, None),
        (["mx.example.com; spf=pass smtp.mailfrom=juan.perez@example.org"], TRUSTED, AGENT, None),
        (["mx.example.com; spf=pass header.from=example.org"], TRUSTED, AGENT, None),
        (["mx.example.com; spf=pass smtp.mailfrom=b@example.net header.from=agente@example.org"], TRUSTED, AGENT,
         None),
        (["mx.example.com; dkim=pass header.i=@example.org"], TRUSTED, AGENT, None),
        (["mx.example.com; dmarc=pass header.from=example.org"], TRUSTED, AGENT, None),
        # untrusted, failing, neutral or unrelated results prove nothing
        ([RSPAMD], ["relay.example.net"], AGENT, None),
        ([RSPAMD], [], AGENT, None),
        (["relay.example.net; spf=pass smtp.mailfrom=agente@example.org"], TRUSTED, AGENT, None),
        (["mx.example.com; dkim=fail (bad signature) header.i=agente@example.org"], TRUSTED, AGENT, None),
        (["mx.example.com; dkim=neutral (no key) header.i=agente@example.org"], TRUSTED, AGENT, None),
        (["mx.example.com; spf=softfail smtp.mailfrom=agente@example.org"], TRUSTED, AGENT, None),
        (["mx.example.com; spf=pass smtp.mailfrom=agente@example.org.example.net"], TRUSTED, AGENT, None),
        (["mx.example.com; spf=pass smtp.mailfrom=agente@mail.example.org"], TRUSTED, AGENT, None),
        (["mx.example.com; spf=pass smtp.helo=example.org"], TRUSTED, AGENT, None),
        (["mx.example.com; none"], TRUSTED, AGENT, None),
        ([], TRUSTED, AGENT, None),
        ([RSPAMD], TRUSTED, "", None),
        ([RSPAMD], TRUSTED, "example.org", None),
        # malformed headers count as absent, never raise
        (["spf=pass smtp.mailfrom=agente@example.org"], TRUSTED, AGENT, None),
        (["mx.example.com; spf=pass smtp.mailfrom=agente@example.org; ;;"], TRUSTED, AGENT, None),
        (["", "garbage ;;; ===", "mx.example.com;"], TRUSTED, AGENT, None),
        (["mx.example.com 2; spf=pass smtp.mailfrom=agente@example.org"], TRUSTED, AGENT, None),  # unknown version
    ],
    ids=[
        "rspamd-spf", "gmail-style-spf", "dkim-auid", "dkim-preferred-over-spf", "case-and-trailing-dot",
        "trusted-id-case", "untrusted-header-ignored", "opendkim-domain-only", "exchange-domain-only",
        "dkim-header-d-only", "spf-bare-domain", "spf-another-mailbox", "spf-header-from", "spf-clause-header-from",
        "header-i-domain-only", "dmarc-alone", "untrusted-id", "no-trusted-ids", "only-untrusted-header", "dkim-fail",
        "dkim-neutral", "spf-softfail", "look-alike-suffix", "subdomain-is-not-the-domain", "spf-helo-only", "none",
        "no-headers", "empty-address", "domain-is-no-address", "no-authserv-id", "trailing-garbage", "garbage",
        "unsupported-version",
    ],
)
def test_verified_sender_pass(headers: list[str], trusted: list[str], address: str, expected: str | None) -> None:
    assert verified_sender_pass(headers, trusted, address) == expected


@given(st.lists(st.text(max_size=200), max_size=3), st.sampled_from([AGENT, "", "example.org"]))
def test_any_header_text_gives_a_method_or_none_and_never_raises(headers: list[str], domain: str) -> None:
    assert verified_sender_pass(headers, TRUSTED, domain) in ("dkim", "spf", None)


@given(st.text(alphabet="mx.example.com;=() dkimpasheaderdi@agente", max_size=120))
def test_near_miss_headers_never_raise(value: str) -> None:
    assert verified_sender_pass([value], TRUSTED, AGENT) in ("dkim", "spf", None)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([RSPAMD], {"dkim", "spf", "dmarc"}),
        ([EXCHANGE_STYLE], {"dkim", "spf", "dmarc"}),
        ([GMAIL_STYLE], {"spf", "dmarc"}),  # its DKIM clause names only header.i
        ([OPENDKIM], {"dkim"}),  # a signature of the From's own domain is aligned
        (["MX.Example.COM; DMARC=Pass header.from=Example.ORG."], {"dmarc"}),
        (["mx.example.com; spf=pass smtp.mailfrom=example.org"], {"spf"}),
        (["mx.example.com; spf=pass smtp.mailfrom=bounces@example.org"], {"spf"}),
        # SPF for another domain's envelope sender says nothing of the From header's
        (["mx.example.com; spf=pass smtp.mailfrom=bounces@evil.example.net header.from=example.org"], set()),
        (["mx.example.com; dmarc=fail header.from=example.org"], set()),
        (["mx.example.com; dmarc=pass header.from=example.net"], set()),
        (["mx.example.com; dkim=pass header.d=evil.example.net; dmarc=none header.from=example.org"], set()),
        (["relay.example.net; dmarc=pass header.from=example.org"], set()),
        (["dmarc=pass header.from=example.org"], set()),
        ([], set()),
    ],
    ids=["rspamd", "exchange-style", "gmail-style", "aligned-dkim", "case-and-trailing-dot", "spf-domain",
         "spf-address", "spf-of-another-domain", "dmarc-fail", "dmarc-other-domain", "dkim-of-another-domain",
         "untrusted", "malformed", "no-headers"],
)
def test_from_domain_passes(headers: list[str], expected: set[str]) -> None:
    assert from_domain_passes(headers, TRUSTED, "example.org") == expected
