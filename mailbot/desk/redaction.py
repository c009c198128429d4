"""A mail that quotes one of our password mails must not keep the live password readable at rest.

A customer who answers their credentials mail usually quotes it, temporary password included. Before anything of
such a mail is stored (raw message, entry text, notifications), every token that looks like one of our passwords
is checked against the contact's hashes (password_hashes.verify), and the one that still logs in is replaced.
A password only an encoded part carries (base64, quoted-printable) cannot be cut from the raw bytes: that password
is withdrawn instead, and a new one is mailed, so what stays on disk no longer opens anything.

Only temporary (keyed) hashes are checked: a password the customer chose (argon2id) was never in a mail of ours,
and checking tokens against it cost ~40 ms each for any mail that named a credentials mail. An argon2 hash of a
temporary password minted before the keyed hash existed has expired since (`temporary_password_days`). Mail from
anyone is checked, not only the contact's: a credentials mail forwarded to a colleague, or quoted from another
address, still carries a live password, a From proves nothing, and a keyed check costs microseconds.
"""

from __future__ import annotations

import dataclasses
import logging
import re

from ..config import Config
from ..mail.parse import InboundMail
from .accounts import PASSWORD_ALPHABET, PASSWORD_LENGTH
from .lookups import Lookups, named_ids
from .password_hashes import is_temporary, temporary_key, verify
from .settings import desk_secret
from .submissions import enqueue_password_reset

log = logging.getLogger(__name__)
REDACTED = "[contraseña retirada]"
_CANDIDATE = re.compile(rf"(?<![{PASSWORD_ALPHABET}])[{PASSWORD_ALPHABET}]{{{PASSWORD_LENGTH}}}(?![{PASSWORD_ALPHABET}])")
# A quoted credentials mail holds one password, not a page of them.
MAX_CANDIDATES = 8


def redact_quoted_password(lookups: Lookups, config: Config, mail: InboundMail) -> InboundMail:
    """`mail` with the live password of a password mail it answers replaced; unchanged for any other mail."""
    contact = lookups.password_contact(named_ids(mail))  # of the password mail it answers, if it answers one
    if contact is None:
        return mail
    hashes = [h for h in (contact.password_hash, contact.reset_password_hash) if h and is_temporary(h)]
    if not hashes:
        return mail
    key = temporary_key(desk_secret(lookups.session, config))
    live = [token for token in list(dict.fromkeys(_CANDIDATE.findall(mail.text)))[:MAX_CANDIDATES]
            if any(verify(key, h, token) for h in hashes)]
    if not live:
        return mail
    raw, text, html = mail.raw, mail.text, mail.html
    for password in live:
        text = text.replace(password, REDACTED)
        html = html.replace(password, REDACTED) if html is not None else None
        if password.encode() in raw:
            raw = raw.replace(password.encode(), REDACTED.encode())
        else:  # only an encoded part carries it: withdraw it, and mail a new one (the portal's reset path)
            contact.password_hash = contact.reset_password_hash = None
            enqueue_password_reset(lookups.session, config, contact)
            log.warning("a mail from %s quoted their temporary password in an encoded part; it was withdrawn and "
                        "a new one is on its way", contact.email)
    return dataclasses.replace(mail, raw=raw, text=text, html=html)
