"""Run a private Dovecot IMAP server on loopback, with its own config and mail store."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .ports import free_port, wait_for_port

DOVECOT_BINARY = "/usr/sbin/dovecot"
INSTALL_HINT = "install Debian's dovecot-imapd (apt-get install dovecot-imapd); ./run does it for you"

# Any user name logs in with this password, and each name gets its own empty mail store: tests use a
# fresh name for a fresh mailbox. The server listens on 127.0.0.1 only, so this never leaves the machine.
_CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
instance_name = mailbot-{port}
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
# A wrong password is answered on Dovecot's next 0.5 s failure tick rather than after 2 s.
auth_failure_delay = 0
default_internal_user = {internal_user}
default_login_user = {login_user}
first_valid_uid = 0
first_valid_gid = 0
mail_location = maildir:{root}/mail/%u
mail_uid = {mail_user}
mail_gid = {mail_group}
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  chroot =
}}
service anvil {{
  chroot =
  # No auth penalty (2, 4, 8, then 15 s before each login from an IP that failed one), so a test that logs in
  # wrongly on purpose does not slow the tests after it. Dovecot's documented switch: auth cannot reach the
  # penalty socket, so it tracks nothing. (login_trusted_networks did not lift it here, on 2.3.19.)
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
protocol imap {{
  mail_max_userip_connections = 200
  imap_capability = {capability}
}}
"""


# What Dovecot 2.3 advertises after login when imap_capability is left empty; `omit_capabilities` takes names out
# of it, so a test can meet a real server without IDLE (RFC 2177) or MOVE (RFC 6851).
DOVECOT_CAPABILITIES = (
    "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY THREAD=REFERENCES THREAD=REFS "
    "THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED "
    "I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE "
    "SNIPPET=FUZZY PREVIEW=FUZZY PREVIEW STATUS=SIZE SAVEDATE LITERAL+ NOTIFY"
).split()


class DovecotUnavailable(RuntimeError):
    """Dovecot is not installed or did not start; the message says what to do."""


@dataclass
class PrivateDovecot:
    """A Dovecot master process in the foreground, owned by this object. See `start` and `stop`."""

    root: Path
    password: str = "demo-password"
    host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)
    omit_capabilities: frozenset[str] = frozenset()
    _process: subprocess.Popen[bytes] | None = None

    def start(self) -> PrivateDovecot:
        if not Path(DOVECOT_BINARY).exists():
            raise DovecotUnavailable(f"{DOVECOT_BINARY} not found: {INSTALL_HINT}")
        for sub in ("run", "state", "mail"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        users = self._users()
        if os.geteuid() == 0:
            # Dovecot refuses mail access as root, so the store belongs to its own system user,
            # who must be able to walk down to it.
            self.root.chmod(self.root.stat().st_mode | 0o011)
            _require_traversable(self.root)
            shutil.chown(self.root / "mail", users["mail_user"], users["mail_group"])
        conf = self.root / "dovecot.conf"
        conf.write_text(_CONFIG.format(root=self.root, port=self.port, password=self.password,
                                       capability=self._capability(), **users))
        (self.root / "run" / "master.pid").unlink(missing_ok=True)
        log = open(self.root / "dovecot.stdout", "ab")
        self._process = subprocess.Popen(
            [DOVECOT_BINARY, "-F", "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        if not wait_for_port(self.host, self.port, timeout=10):
            self.stop()
            raise DovecotUnavailable(
                f"Dovecot did not listen on {self.host}:{self.port} within 10 s; see {self.root}/dovecot.log"
            )
        return self

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            _kill_group(process)

    def kill(self) -> None:
        """Kill the server and every process it started at once, as a crash would: connections drop, no BYE."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            _kill_group(process)

    def __enter__(self) -> PrivateDovecot:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _capability(self) -> str:
        """Dovecot's imap_capability: empty keeps its own list; it only changes what is advertised."""
        unknown = self.omit_capabilities - set(DOVECOT_CAPABILITIES)
        if unknown:
            raise ValueError(f"Dovecot does not advertise {', '.join(sorted(unknown))}")
        if not self.omit_capabilities:
            return ""
        return " ".join(c for c in DOVECOT_CAPABILITIES if c not in self.omit_capabilities)

    @staticmethod
    def _users() -> dict[str, str]:
        if os.geteuid() == 0:
            return {
                "internal_user": "dovecot",
                "login_user": "dovenull",
                "mail_user": "dovecot",
                "mail_group": "dovecot",
            }
        me = pwd.getpwuid(os.geteuid()).pw_name
        return {"internal_user": me, "login_user": me, "mail_user": me, "mail_group": me}


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGKILL)  # the master started its own session: the group is all of Dovecot
    process.wait()


def _require_traversable(path: Path) -> None:
    for folder in (path, *path.parents):
        if not folder.stat().st_mode & 0o001:
            raise DovecotUnavailable(
                f"{folder} is not searchable by other users (mode {folder.stat().st_mode & 0o777:o}); "
                "Dovecot's mail user cannot reach the mail store under it: choose a runtime folder elsewhere"
            )
