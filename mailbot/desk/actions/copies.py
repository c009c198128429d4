"""Whom a person's mail puts on a case by copying them. A participant gets every agent reply, and anyone can write
any From, so a Cc'd address joins only when the mail shows that its From is genuine:

- a trusted Authentication-Results header shows SPF passing for the From's domain, or a DKIM signature of that
  domain passing that covers Cc (DMARC alone does not say which);
- on a case the mail threads onto: it answers (In-Reply-To/References) a mail the desk sent that very sender on
  that case, whose Message-ID only its recipients know;
- on a case the mail opens: the address is of the sender's configured account ([accounts]), a colleague who may
  add to the account's cases anyway. A forged new case holds only the forger's words, but what the agents answer
  on it may still tell of the contact, so a stranger is not put on it either.

At most [limits] participants_per_case people join a case this way. Whoever else was copied is written on the
entry, for the agents: an agent who copies them on a reply adds them (desk/actions/agent_reply.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ...mail.authresults import from_domain_passes
from ..models import Case
from .base import Inbound


@dataclass(frozen=True)
class Copies:
    """Who joins the case, and the lines the entry carries about whoever was copied but does not."""

    joining: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def sort_copied(inbound: Inbound, case: Case, *, opening: bool) -> Copies:
    """The people `inbound` copied who are not on `case` yet, sorted by the rules above; `opening`: the mail opens
    `case` (its own Message-ID cannot answer a mail of ours on it)."""
    known = {case.contact.email.lower(), *(p.email.lower() for p in case.participants)}
    newcomers = [address for address in dict.fromkeys(inbound.copied()) if address not in known]
    if not newcomers:
        return Copies()
    sender = (inbound.mail.from_addr or "").lower()
    if _authenticated(inbound, sender) or (not opening and inbound.answers_our_mail(case)):
        vouched = newcomers
    else:
        vouched = [address for address in newcomers if opening and _colleagues(inbound, sender, address)]
    limit = inbound.config.limits.participants_per_case
    joining = vouched[:max(0, limit - len(case.participants))]
    notes = [_not_added([a for a in newcomers if a not in vouched], f"nothing shows that this mail is {sender}'s"),
             _not_added(vouched[len(joining):], f"past [limits] participants_per_case = {limit}")]
    return Copies(joining, [note for note in notes if note])


def _not_added(addresses: list[str], why: str) -> str:
    """The entry's line about people copied who did not join, or "" when there are none."""
    if not addresses:
        return ""
    return (f"Copied, not added to the case ({why}): {', '.join(addresses)}. An agent adds them by copying them "
            "on a reply.")


def _authenticated(inbound: Inbound, sender: str) -> bool:
    """A trusted border MTA (mail/authresults.py) saw the From's domain send this mail with its Cc as it is: SPF
    passed for an envelope sender at that domain (its own servers sent it, now), or a DKIM signature of that domain
    passed and every such signature covers Cc (h=). A signature that does not list Cc still verifies after a Cc is
    added, so a mail the sender once wrote to someone could be re-sent to the desk with that someone copied. DMARC's
    pass alone does not tell which of the two it rests on."""
    results = [value for name, value in inbound.mail.headers if name == "authentication-results"]
    domain = sender.rpartition("@")[2]
    passes = from_domain_passes(results, inbound.config.desk.trusted_authserv_ids, domain)
    return "spf" in passes or ("dkim" in passes and _signatures_cover_cc(inbound, domain))


def _signatures_cover_cc(inbound: Inbound, domain: str) -> bool:
    """Every DKIM-Signature of `domain` lists "cc" in its h= tag (RFC 6376 §3.5), and there is one."""
    covered = [_signed_headers(value) for name, value in inbound.mail.headers if name == "dkim-signature"
               if _tag(value, "d").lower().rstrip(".") == domain.lower()]
    return bool(covered) and all("cc" in headers for headers in covered)


def _tag(signature: str, name: str) -> str:
    """A tag's value in a DKIM-Signature ("d", "h"), white space removed; "" when absent."""
    for part in signature.split(";"):
        key, _, value = part.partition("=")
        if key.strip().lower() == name:
            return "".join(value.split())
    return ""


def _signed_headers(signature: str) -> set[str]:
    return {header.strip().lower() for header in _tag(signature, "h").split(":") if header.strip()}


def _colleagues(inbound: Inbound, sender: str, address: str) -> bool:
    """Both addresses are of one account listed in [accounts] (a mail domain alone is no organisation: gmail.com)."""
    accounts = inbound.config.accounts
    account = accounts.get(sender.rpartition("@")[2])
    return account is not None and accounts.get(address.rpartition("@")[2]) == account
