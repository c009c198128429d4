"""Fetch a help-desk mailbox in UID batches and move each message out only after its receipt is committed."""

from __future__ import annotations

import logging
import socket
import ssl
from collections.abc import Iterator

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError

from ..config import ImapConfig
from .source import Batch, Fetched, SourceUnavailable

log = logging.getLogger(__name__)
BODY = b"BODY[]"


class ImapSource:
    """See `MailSource`. Use as a context manager: it logs in, checks capabilities once and creates folders."""

    uidvalidity: int

    def __init__(self, config: ImapConfig, key: str, timeout: float = 60.0) -> None:
        self.config = config
        self.key = key
        self.timeout = timeout
        self.where = f"{config.username}@{config.host}:{config.port}/{config.inbox}"
        self._client: IMAPClient | None = None
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
        try:
            client = IMAPClient(cfg.host, port=cfg.port, ssl=cfg.tls == "ssl", ssl_context=context, timeout=self.timeout)
            self._client = client
            if cfg.tls == "starttls":
                # Configured TLS that fails stops here; it never falls back to plaintext (peers do).
                client.starttls(context)
            client.login(cfg.username, cfg.password)
            capabilities = set(client.capabilities())
            self.can_move = b"MOVE" in capabilities
            self.can_uid_expunge = b"UIDPLUS" in capabilities
            self.can_idle = b"IDLE" in capabilities
            if not self.can_move:
                log.info("IMAP server %s lacks MOVE; using COPY + %s", cfg.host,
                         "UID EXPUNGE" if self.can_uid_expunge else "EXPUNGE")
            for folder in (cfg.processed, cfg.quarantine):
                if not client.folder_exists(folder):
                    client.create_folder(folder)
                    log.info("created folder %s on %s", folder, self.where)
            self.uidvalidity = int(client.select_folder(cfg.inbox)[b"UIDVALIDITY"])
        except (IMAPClientError, OSError, ssl.SSLError, socket.timeout) as exc:
            raise SourceUnavailable(f"IMAP {self.where}: {_describe(exc)}") from None

    def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.logout()
        except (IMAPClientError, OSError):
            client.shutdown()

    @property
    def client(self) -> IMAPClient:
        if self._client is None:
            raise SourceUnavailable(f"IMAP {self.where}: not connected")
        return self._client

    def batches(self, size: int) -> Iterator[Batch]:
        try:
            uids = sorted(self.client.search(["NOT", "DELETED"]))
        except (IMAPClientError, OSError) as exc:
            raise SourceUnavailable(f"IMAP {self.where}: SEARCH failed: {_describe(exc)}") from None
        for start in range(0, len(uids), size):
            chunk = uids[start : start + size]
            fetched = self._fetch(chunk)
            # A message expunged by someone else between SEARCH and FETCH is simply absent.
            yield Batch(self.uidvalidity, [fetched[uid] for uid in chunk if uid in fetched])

    def _fetch(self, uids: list[int]) -> dict[int, Fetched]:
        """One round trip for the batch. If the server refuses it, one by one, so that a single message it cannot
        return is quarantined with the server's words instead of blocking everything behind it."""
        try:
            return self._fetch_bodies(uids)
        except IMAPClientAbortError as exc:
            raise SourceUnavailable(f"IMAP {self.where}: connection lost in FETCH: {_describe(exc)}") from None
        except IMAPClientError:
            pass
        found: dict[int, Fetched] = {}
        for uid in uids:
            try:
                found.update(self._fetch_bodies([uid]))
            except IMAPClientAbortError as exc:
                raise SourceUnavailable(f"IMAP {self.where}: connection lost in FETCH: {_describe(exc)}") from None
            except IMAPClientError as exc:
                found[uid] = Fetched(uid, b"", f"the IMAP server could not return it: {_describe(exc)}")
        return found

    def _fetch_bodies(self, uids: list[int]) -> dict[int, Fetched]:
        try:
            response = self.client.fetch(uids, ["BODY.PEEK[]"])
        except OSError as exc:
            raise SourceUnavailable(f"IMAP {self.where}: FETCH failed: {_describe(exc)}") from None
        return {
            uid: Fetched(uid, data[BODY]) if isinstance(data.get(BODY), bytes)
            else Fetched(uid, b"", "the IMAP server returned no body for it")
            for uid, data in response.items()
        }

    def settle(self, processed: list[int], quarantined: list[int]) -> None:
        try:
            for uids, folder in ((processed, self.config.processed), (quarantined, self.config.quarantine)):
                if uids:
                    self._move(uids, folder)
        except (IMAPClientError, OSError) as exc:
            # The receipts are committed: the next poll finds them and only moves the messages.
            raise SourceUnavailable(f"IMAP {self.where}: moving to a folder failed: {_describe(exc)}") from None

    def _move(self, uids: list[int], folder: str) -> None:
        if self.can_move:
            self.client.move(uids, folder)
            return
        self.client.copy(uids, folder)
        self.client.delete_messages(uids)
        if self.can_uid_expunge:
            self.client.uid_expunge(uids)
        else:
            self.client.expunge()


def _describe(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) < 300 else text[:300] + "…"
