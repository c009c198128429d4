"""Fetch a help-desk mailbox in UID batches, move each message out only after its receipt is committed, and wait
for new mail in IDLE where the server offers it."""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import replace

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError

from ..config import ImapConfig
from .copyuid import copyuid
from .fetch_plan import plan
from .imap_errors import describe
from .imap_idle import Idle, IdleRefused, Imaplib, take_news
from .source import Batch, Fetched, SourceUnavailable

log = logging.getLogger(__name__)
BODY = b"BODY[]"
SIZE = b"RFC822.SIZE"
# The fields that describe a message in `mailbot quarantine list`, at most HEAD_BYTES of them (a partial FETCH,
# RFC 3501 §6.4.5): enough for a capped one-line summary, never a hostile 1 MB subject.
HEAD_BYTES = 4096
HEAD_FIELDS = "BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE MESSAGE-ID)]"
HEAD = b"BODY[HEADER.FIELDS (FROM SUBJECT DATE MESSAGE-ID)]<0>"
MAX_MESSAGE_SIZE = 25_000_000  # [limits] max_message_size's default
BATCH_BYTES = 32_000_000  # bodies downloaded per batch; one message over it comes alone
SIZES_PER_FETCH = 500  # UIDs per FETCH of sizes: the command line stays far below servers' limits (8 kB+)
IDLE_RENEWAL = 25 * 60.0  # RFC 2177 §3: re-issue IDLE at least every 29 minutes; the margin covers a slow DONE
LOGOUT_TIMEOUT = 1.0


class ImapSource:
    """See `MailSource` and `WaitsForMail`. Use as a context manager: it logs in, checks capabilities once, makes
    sure the inbox exists, creates the processed and quarantine folders and selects the inbox."""

    uidvalidity: int

    def __init__(self, config: ImapConfig, key: str, timeout: float = 60.0,
                 idle_renewal: float = IDLE_RENEWAL, max_size: int = MAX_MESSAGE_SIZE,
                 batch_bytes: int = BATCH_BYTES) -> None:
        self.config = config
        self.key = key
        self.timeout = timeout
        self.idle_renewal = idle_renewal
        self.max_size = max_size
        self.batch_bytes = batch_bytes
        self.where = f"{config.username}@{config.host}:{config.port}/{config.inbox}"
        self._client: IMAPClient | None = None
        self._searched_to = 0  # the highest UID the last SEARCH found
        self.can_move = False
        self.can_uid_expunge = False
        self.can_idle = False

    def __enter__(self) -> ImapSource:
        try:
            self._connect()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _connect(self) -> None:
        cfg = self.config
        context = ssl.create_default_context()
        with self.failing("cannot connect"):
            client = IMAPClient(cfg.host, port=cfg.port, ssl=cfg.tls == "ssl", ssl_context=context,
                                timeout=self.timeout)
            self._client = client
        if cfg.tls == "starttls":
            with self.failing("STARTTLS failed"):
                # Configured TLS that fails stops here; it never falls back to plaintext (peers do).
                client.starttls(context)
        with self.failing("login refused"):
            client.login(cfg.username, cfg.password)
        with self.failing("CAPABILITY failed"):
            capabilities = set(client.capabilities())
        self.can_move = b"MOVE" in capabilities
        self.can_uid_expunge = b"UIDPLUS" in capabilities
        self.can_idle = b"IDLE" in capabilities
        if not self.can_move:
            log.info("IMAP server %s lacks MOVE; using COPY + %s", cfg.host,
                     "UID EXPUNGE" if self.can_uid_expunge else "EXPUNGE")
        if not self.can_idle:
            log.info("IMAP server %s lacks IDLE; polling %s", cfg.host, self.where)
        with self.failing("listing folders failed"):
            inbox_exists = client.folder_exists(cfg.inbox)
        if not inbox_exists:  # before creating anything: a mistyped inbox must not leave folders behind
            raise SourceUnavailable(f"IMAP {self.where}: no folder {cfg.inbox!r} on the server; "
                                    "check [queues.imap] inbox")
        for folder in (cfg.processed, cfg.quarantine):
            with self.failing(f"creating folder {folder} failed"):
                if not client.folder_exists(folder):
                    client.create_folder(folder)
                    log.info("created folder %s on %s", folder, self.where)
        with self.failing("SELECT failed"):
            self.uidvalidity = int(client.select_folder(cfg.inbox)[b"UIDVALIDITY"])
        take_news(self._imaplib)  # SELECT's counts are where this session starts, not news

    @contextmanager
    def failing(self, step: str) -> Iterator[None]:
        """Turn imapclient, imaplib and socket errors in `step` into one SourceUnavailable line."""
        try:
            yield
        except (IMAPClientError, OSError) as exc:  # ssl.SSLError and timeouts are OSErrors
            raise SourceUnavailable(f"IMAP {self.where}: {step}: {describe(exc)}") from None

    def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        # LOGOUT is a courtesy: a lost, hung or idling connection gets LOGOUT_TIMEOUT for it, not the read timeout.
        try:
            client.socket().settimeout(min(self.timeout, LOGOUT_TIMEOUT))
            client.logout()
        except (IMAPClientError, OSError):
            with suppress(OSError):  # imaplib closes the socket in a `finally`, whatever shutdown() raises
                client.shutdown()

    @property
    def client(self) -> IMAPClient:
        if self._client is None:
            raise SourceUnavailable(f"IMAP {self.where}: not connected")
        return self._client

    @property
    def _imaplib(self) -> Imaplib:
        """The imaplib connection under imapclient, for IDLE and for the responses it files (see imap_idle)."""
        imap: Imaplib = self.client._imap
        return imap

    def batches(self, size: int) -> Iterator[Batch]:
        with self.failing("looking for new mail failed"):
            # A SEARCH sees only messages already announced to this session; NOOP lets the server announce
            # what arrived since the last command (RFC 3501 §6.1.2). Announcements up to here are now searched.
            self.client.noop()
            take_news(self._imaplib)
            uids = sorted(self.client.search(["NOT", "DELETED"]))
        self._searched_to = max(uids, default=self._searched_to)
        for start in range(0, len(uids), size):
            chunk = uids[start : start + size]
            # The sizes first (RFC 3501 §6.4.5 RFC822.SIZE): a message over the cap is never downloaded, and
            # bodies come a byte budget at a time, so memory stays bounded whatever lands in the inbox.
            heads = self._heads(chunk)
            sizes = [(uid, _size_or_reason(heads[uid])) for uid in chunk if uid in heads]
            for planned in plan(sizes, self.max_size, self.batch_bytes):
                fetched = self._fetch(list(planned.fetch)) if planned.fetch else {}
                for uid, reason in planned.skip.items():
                    fetched[uid] = Fetched(uid, b"", reason)
                # A message expunged by someone else between SEARCH and FETCH is simply absent.
                yield Batch(self.uidvalidity, [replace(fetched[uid], size=heads[uid].size, head=heads[uid].head)
                                               for uid in planned.uids if uid in fetched])

    def _heads(self, uids: list[int]) -> dict[int, Fetched]:
        """UID → its RFC822.SIZE and the first HEAD_BYTES of its describing fields (no body yet), or why the
        server could not give them."""
        found: dict[int, Fetched] = {}
        for start in range(0, len(uids), SIZES_PER_FETCH):
            found.update(self._fetch(uids[start : start + SIZES_PER_FETCH], self._fetch_heads))
        return found

    def _fetch_heads(self, uids: list[int]) -> dict[int, Fetched]:
        response = self.client.fetch(uids, [SIZE.decode(), f"{HEAD_FIELDS}<0.{HEAD_BYTES}>"])
        found: dict[int, Fetched] = {}
        for uid, data in response.items():
            size, head = data.get(SIZE), data.get(HEAD)
            found[uid] = (Fetched(uid, b"", size=size, head=head if isinstance(head, bytes) else b"")
                          if isinstance(size, int) else Fetched(uid, b"", "the IMAP server gave no size for it"))
        return found

    def _fetch(self, uids: list[int],
               fetch: Callable[[list[int]], dict[int, Fetched]] | None = None) -> dict[int, Fetched]:
        """One round trip for the batch (bodies, unless `fetch` says what). If the server refuses it, one by one,
        so that a single message it cannot return is quarantined with the server's words instead of blocking
        everything behind it."""
        fetch = fetch or self._fetch_bodies
        with self.failing("FETCH failed"):
            try:
                return fetch(uids)
            except IMAPClientAbortError:
                raise
            except IMAPClientError:
                pass
            found: dict[int, Fetched] = {}
            for uid in uids:
                try:
                    found.update(fetch([uid]))
                except IMAPClientAbortError:
                    raise
                except IMAPClientError as exc:
                    found[uid] = Fetched(uid, b"", f"the IMAP server could not return it: {describe(exc)}")
            return found

    def _fetch_bodies(self, uids: list[int]) -> dict[int, Fetched]:
        response = self.client.fetch(uids, ["BODY.PEEK[]"])
        return {
            uid: Fetched(uid, data[BODY]) if isinstance(data.get(BODY), bytes)
            else Fetched(uid, b"", "the IMAP server returned no body for it")
            for uid, data in response.items()
        }

    def settle(self, processed: list[int], quarantined: list[int]) -> dict[int, int]:
        """See `MailSource`. Folder UIDs come from MOVE's COPYUID (RFC 4315, RFC 6851 §4.3); imaplib drops
        the one in COPY's tagged answer, so after COPY + EXPUNGE they are unknown (and looked up by Message-ID)."""
        # The receipts are committed: if a move fails, the next poll finds the messages and only moves them.
        if processed:
            with self.failing(f"moving to {self.config.processed} failed"):
                self.move(processed, self.config.processed)
        if not quarantined:
            return {}
        with self.failing(f"moving to {self.config.quarantine} failed"):
            return self.move(quarantined, self.config.quarantine)

    def move(self, uids: list[int], folder: str) -> dict[int, int]:
        """Move messages of the selected folder to `folder`; source UID → UID there, where the server says."""
        if self.can_move:
            untagged = self._imaplib.untagged_responses
            untagged.pop("COPYUID", None)
            self.client.move(uids, folder)
            placed: dict[int, int] = {}
            for data in untagged.pop("COPYUID", []):
                with suppress(ValueError):  # a server's malformed code costs only the admin's shortcut
                    placed.update(copyuid(data)[1])
            return placed
        self.client.copy(uids, folder)
        self.client.delete_messages(uids)
        if self.can_uid_expunge:
            self.client.uid_expunge(uids)
        else:
            self.client.expunge()
        return {}

    def wait_for_mail(self, timeout: float, stop: threading.Event | None = None) -> bool:
        """See `WaitsForMail`."""
        deadline = time.monotonic() + timeout
        if self.can_idle:
            with self.failing("waiting for mail failed"):
                news = self._idle(deadline, stop)
            if news is not None:
                return news
        left = max(0.0, deadline - time.monotonic())
        if stop is None:
            time.sleep(left)
        else:
            stop.wait(left)
        return False

    def _idle(self, deadline: float, stop: threading.Event | None) -> bool | None:
        """IDLE, re-issued every `idle_renewal` seconds, until the server announces mail (True), the deadline
        passes or `stop` is set (False); None if the server refuses IDLE."""
        imap = self._imaplib
        self.client.noop()  # mail that came since the last command is announced now, not at the next DONE
        while not (take_news(imap) and self._arrived()):
            now = time.monotonic()
            if now >= deadline or (stop is not None and stop.is_set()):
                return False
            try:
                idle = Idle(imap)
            except IdleRefused as exc:
                self.can_idle = False
                log.warning("IMAP server %s refused IDLE (%s); polling %s instead", self.config.host, exc, self.where)
                return None
            idle.wait(min(deadline, now + self.idle_renewal), stop)
            idle.done()
        return True

    def _arrived(self) -> bool:
        """Whether a UID above the last SEARCH's is in the inbox: an announcement confirmed, since a server may
        repeat EXISTS with every NOOP (untagged data may come at any time: RFC 3501 §5.2), which would wake the runner
        in a loop."""
        uids = self.client.search(["UID", f"{self._searched_to + 1}:*", "NOT", "DELETED"])
        return any(uid > self._searched_to for uid in uids)  # "n:*" always holds the highest UID (§6.4.8)


def _size_or_reason(head: Fetched) -> int | str:
    if head.error is None and head.size is not None:
        return head.size
    return head.error or "the IMAP server gave no size for it"
