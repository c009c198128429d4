"""What an admin does to a message in a mailbox's quarantine folder: find it, read its header, put it back, delete it."""

from __future__ import annotations

from .imap_source import ImapSource

__all__ = ["HEADER_BYTES", "QuarantineFolder"]

HEADER_BYTES = 64 * 1024  # of a header shown to an admin; the rest of a hostile one stays on the server
_HEADER = b"BODY[HEADER]<0>"
_SIZE = b"RFC822.SIZE"


class QuarantineFolder:
    """The quarantine folder of an open `ImapSource`, selected. Errors are the source's `SourceUnavailable`."""

    def __init__(self, source: ImapSource) -> None:
        self.source = source
        self.name = source.config.quarantine
        with source.failing(f"SELECT {self.name} failed"):
            source.client.select_folder(self.name)

    def locate(self, uid: int | None, message_id: str | None) -> int | None:
        """The message's UID in the folder: the one the MOVE reported if it is still there, else the first with
        its Message-ID (a MOVE without COPYUID, or a daemon that died before noting it); None if absent."""
        client = self.source.client
        with self.source.failing(f"SEARCH in {self.name} failed"):
            if uid is not None and client.search(["UID", str(uid), "NOT", "DELETED"]):
                return uid
            if message_id:
                found = client.search(["HEADER", "Message-ID", message_id, "NOT", "DELETED"])
                return min(found) if found else None
        return None

    def header(self, uid: int) -> tuple[int, bytes]:
        """(RFC822.SIZE, the first HEADER_BYTES of its header) without setting \\Seen (BODY.PEEK)."""
        with self.source.failing(f"FETCH in {self.name} failed"):
            data = self.source.client.fetch([uid], [_SIZE.decode(), f"BODY.PEEK[HEADER]<0.{HEADER_BYTES}>"])
        found = data.get(uid, {})
        size, header = found.get(_SIZE), found.get(_HEADER)
        return (size if isinstance(size, int) else 0, header if isinstance(header, bytes) else b"")

    def release(self, uid: int) -> None:
        """Back to the inbox, under a new UID, where the intake runner takes it as new mail."""
        inbox = self.source.config.inbox
        with self.source.failing(f"moving from {self.name} to {inbox} failed"):
            self.source.move([uid], inbox)

    def discard(self, uid: int) -> None:
        """Gone from the server: \\Deleted, then expunged (only this UID where UIDPLUS allows, RFC 4315 §2.1)."""
        client = self.source.client
        with self.source.failing(f"deleting from {self.name} failed"):
            client.delete_messages([uid])
            if self.source.can_uid_expunge:
                client.uid_expunge([uid])
            else:
                client.expunge()
