"""A demo desk on loopback: private Dovecot, an SMTP capture, SQLite, and a handful of realistic Spanish mails."""

from __future__ import annotations

import argparse
import logging
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from imapclient import IMAPClient

from . import cli
from .desk.accounts import PASSWORD_LENGTH
from .servers.dovecot import DovecotUnavailable, PrivateDovecot
from .servers.desk_config import PASSWORD_FILE, LoopbackQueue, write_loopback_config
from .servers.ports import free_port, wait_for_port
from .servers.smtp_capture import SmtpCapture

MARKER = ".mailbot-demo"
PORTAL_PATH = "/csm"
PORTAL_SECRET_FILE = "portal.secret"
ACCOUNTS = {"transportes.example.org": "Transportes Ejemplo S.A.S.", "austral.example.org": "Grupo Austral Ejemplo S.A.S."}
QUEUES = {
    "mesadeayuda": ("mesadeayuda@example.com", "Mesa de ayuda",
                    "Lunes a viernes de 7:00 a. m. a 7:00 p. m.; sábados de 8:00 a. m. a 1:00 p. m."),
    "clavesegura": ("soporte.clavesegura@example.com", "Soporte Clave Segura",
                    "Lunes a viernes de 7:00 a. m. a 7:00 p. m."),
}
# A 1×1 PNG: the screenshot a customer's reply carries.
SCREENSHOT = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
                           "0000000b49444154789c63f80f040009fb03fdfb5e6b2b0000000049454e44ae426082")
# Each queue's agents: they are notified of every new case and follow-up (their mail lands in sent.mbox too).
AGENTS = {"mesadeayuda": ("andres.gomez@example.com",), "clavesegura": ("laura.rios@example.com",)}

def _mail(sender: str, to: str, subject: str, body: str, charset: str = "utf-8", **headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(timezone.utc))
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].rstrip(">"))
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body, charset=charset)
    return message


def first_mails() -> list[tuple[str, bytes]]:
    """New requests: first-time customers, a forward, an HTML-only mail, an attachment, a Latin-1 mail."""
    desk, clave = QUEUES["mesadeayuda"][0], QUEUES["clavesegura"][0]
    token = _mail("Marta Ruiz <marta.ruiz@transportes.example.org>", desk,
                  "No puedo firmar en Adobe Reader con el token",
                  "Buenos días,\n\nAl intentar firmar un PDF en Adobe Reader el token no aparece en la lista de "
                  "certificados. Ya reinstalé el controlador.\n\nQuedo atenta,\nMarta Ruiz\n")
    latin = _mail("Andrés Gómez <andres.gomez@austral.example.org>", desk,
                  "Solicitud de factura electrónica de noviembre",
                  "Cordial saludo:\n\nSolicitamos la factura electrónica del mes de noviembre, que aún no "
                  "llega al correo de facturación.\n\nGracias,\nAndrés Gómez\n", charset="iso-8859-1")
    forward = _mail("Marta Ruiz <marta.ruiz@transportes.example.org>", desk,
                    "Fwd: Renovación del certificado digital",
                    "Les reenvío el aviso de vencimiento que recibimos. ¿Cómo hacemos la renovación?\n\n"
                    "---------- Forwarded message ---------\nDe: Notificaciones <avisos@example.com>\n"
                    "Asunto: Renovación del certificado digital\n\nSu certificado vence el 30 de noviembre.\n")
    html = EmailMessage()
    for name, value in (("From", "Laura Pérez <laura.perez@example.org>"), ("To", desk),
                        ("Subject", "Error al ingresar al portal"), ("Date", format_datetime(datetime.now(timezone.utc))),
                        ("Message-ID", make_msgid(domain="example.org"))):
        html[name] = value
    html.set_content("<html><body><p>Hola,</p><p>Al ingresar al <b>portal</b> aparece el mensaje "
                     "<i>«usuario bloqueado»</i>.</p><ul><li>Navegador: Firefox</li><li>Hora: 9:10 a. m.</li>"
                     "</ul><p>Gracias.</p></body></html>", subtype="html")
    with_pdf = _mail("Andrés Gómez <andres.gomez@austral.example.org>", clave,
                     "Actualización de RUT para la firma",
                     "Adjunto el RUT actualizado para continuar con el trámite de la clave segura.\n")
    with_pdf.add_attachment(b"%PDF-1.4\n% RUT de ejemplo\n", maintype="application", subtype="pdf",
                            filename="RUT-actualizado.pdf")
    return [("mesadeayuda", token.as_bytes()), ("mesadeayuda", latin.as_bytes()),
            ("mesadeayuda", forward.as_bytes()), ("mesadeayuda", html.as_bytes()), ("clavesegura", with_pdf.as_bytes())]


def replies(sent: list[EmailMessage]) -> list[tuple[str, bytes]]:
    """The customers answer what they received: one by replying (headers thread it) to the acknowledgement, which
    it quotes as it was sent, with the screenshot it mentions attached; one by the number only."""
    acks = [m for m in sent if str(m["Subject"]).startswith("[CS")]
    first = next(m for m in acks if "marta.ruiz" in str(m["To"]) and "Adobe" in str(m["Subject"]))
    reply = _mail("Marta Ruiz <marta.ruiz@transportes.example.org>", QUEUES["mesadeayuda"][0],
                  f"RE: {first['Subject']}",
                  "Adjunto una captura del error: aparece también en otro equipo.\n\n"
                  f"El {first['Date']}, {first['From'].addresses[0].display_name} escribió:\n{quoted(first)}",
                  In_Reply_To=str(first["Message-ID"]), References=str(first["Message-ID"]))
    reply.add_attachment(SCREENSHOT, maintype="image", subtype="png", filename="captura-error.png")
    invoice = next(m for m in acks if "andres.gomez" in str(m["To"]) and "factura" in str(m["Subject"]))
    number = str(invoice["Subject"])[1:10]
    by_number = _mail("Andrés Gómez <andres.gomez@austral.example.org>", QUEUES["mesadeayuda"][0],
                      f"RV: RE: caso {number} factura pendiente",
                      "Buenas tardes, ¿hay novedades sobre la factura?\n")
    return [("mesadeayuda", reply.as_bytes()), ("mesadeayuda", by_number.as_bytes())]


def quoted(message: EmailMessage) -> str:
    """The text part of `message` as a mail client quotes it in a reply: every line behind "> "."""
    body = message.get_body(("plain",))
    text = body.get_content() if isinstance(body, EmailMessage) else ""
    return "".join(f"> {line}".rstrip() + "\n" for line in text.splitlines())


def temporary_password(message: EmailMessage) -> str | None:
    """The temporary password a credentials mail carries: the text part's line that is exactly one (see
    desk/accounts.py: PASSWORD_LENGTH letters and digits); None for any other mail."""
    body = message.get_body(("plain",))
    text = body.get_content() if isinstance(body, EmailMessage) else ""
    found = re.search(rf"^([A-Za-z0-9]{{{PASSWORD_LENGTH}}})$", text, re.MULTILINE)
    return found.group(1) if found else None


def add_portal(config_path: Path, port: int) -> str:
    """Point the demo desk's portal at loopback: the credentials mails link to it, and `mailbot portal` serves it
    there with a session secret of its own (a 0600 file beside the configuration). Returns its address."""
    url = f"http://127.0.0.1:{port}{PORTAL_PATH}"
    secret = config_path.parent / PORTAL_SECRET_FILE
    secret.write_text(secrets.token_hex(32) + "\n", encoding="utf-8")
    secret.chmod(0o600)
    text = config_path.read_text(encoding="utf-8")
    # write_loopback_config names a portal on example.com; this desk's is the one on loopback.
    text = re.sub(r'^portal_url = ".*"$', f'portal_url = "{url}"', text, count=1, flags=re.MULTILINE)
    text += f'[portal]\nlisten = "127.0.0.1:{port}"\nsession_secret_file = "{PORTAL_SECRET_FILE}"\n'
    config_path.write_text(text, encoding="utf-8")
    return url + "/"


def demo_login(capture: SmtpCapture) -> tuple[str, str] | None:
    """The first customer's address and the temporary password their credentials mail carried."""
    for mail in capture.captured:
        password = temporary_password(mail.message)
        if password is not None:
            return mail.rcpt_tos[0], password
    return None


def start_portal(config: list[str], port: int) -> subprocess.Popen[bytes] | None:
    """`mailbot portal` in a process of its own, as it runs beside the daemon in production."""
    process = subprocess.Popen([sys.executable, "-m", "mailbot", *config, "portal"])
    if wait_for_port("127.0.0.1", port, timeout=20):
        return process
    process.terminate()
    process.wait(10)
    return None


def append(dovecot: PrivateDovecot, mails: list[tuple[str, bytes]]) -> None:
    for queue, raw in mails:
        with IMAPClient(dovecot.host, port=dovecot.port, ssl=False) as client:
            client.login(queue, dovecot.password)
            client.append("INBOX", raw)


def _dovecot_root(root: Path) -> tuple[Path, bool]:
    """root/dovecot, unless Dovecot's mail user (when we are root) cannot walk down to it: then a private
    temporary folder of its own. The flag says whether to remove it afterwards."""
    if os.geteuid() != 0 or all(p.stat().st_mode & 0o001 for p in (root, *root.parents)):
        return root / "dovecot", False
    return Path(tempfile.mkdtemp(prefix="mailbot-demo-dovecot-")), True


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./run demo", description="Run a demo help desk on loopback.")
    parser.add_argument("--once", action="store_true", help="process the demo mails, print the cases and exit")
    parser.add_argument("--dir", default="var/demo", help="runtime folder (default: var/demo)")
    args = parser.parse_args(argv)
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP line at INFO

    root = Path(args.dir).resolve()
    if root.exists() and any(root.iterdir()) and not (root / MARKER).exists():
        print(f"demo: {root} is not empty and was not made by the demo; choose another --dir", file=sys.stderr)
        return 2
    shutil.rmtree(root, ignore_errors=True)  # an earlier demo's folder: start afresh
    root.mkdir(parents=True)
    (root / MARKER).write_text("made by ./run demo; deleted and remade by the next one\n")
    dovecot_root, temporary = _dovecot_root(root)
    password = secrets.token_urlsafe(12)
    try:
        dovecot = PrivateDovecot(dovecot_root, password=password).start()
    except DovecotUnavailable as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1
    capture = SmtpCapture(root / "sent.mbox").start()
    config_path = write_loopback_config(
        root / "mailbot.toml", db_url="sqlite:///mailbot.db", imap_port=dovecot.port, imap_password=password,
        smtp_port=capture.port, smtp={"retry_base": 2}, daemon={"poll_interval": 2}, accounts=ACCOUNTS,
        queues=[LoopbackQueue(key, address, name, imap_user=key, hours_text=hours, agents=AGENTS[key])
                for key, (address, name, hours) in QUEUES.items()],
    )
    portal_port = free_port()
    portal_url = add_portal(config_path, portal_port)
    config = ["--config", str(config_path)]
    portal: subprocess.Popen[bytes] | None = None
    try:
        print(f"Dovecot IMAP on 127.0.0.1:{dovecot.port}, SMTP capture on 127.0.0.1:{capture.port}")
        print(f"Configuration: {config_path}\nMail the desk sent: {capture.mbox_path}\n")
        append(dovecot, first_mails())
        if cli.main([*config, "run", "--once"]) != 0:
            return 1
        append(dovecot, replies([c.message for c in capture.captured]))
        if cli.main([*config, "run", "--once"]) != 0:
            return 1
        print()
        cli.main([*config, "cases", "list"])
        print(f"\n{len(capture.captured)} mails sent by the desk are in {capture.mbox_path}")
        print(f"Try: .venv/bin/mailbot --config {config_path} cases show CS0000001")
        login = demo_login(capture)
        if args.once:
            print(f"\nWithout --once the demo also serves the customer portal at {portal_url}")
            return 0
        portal = start_portal(config, portal_port)
        if portal is None:
            print("demo: the portal did not start; see its log above", file=sys.stderr)
            return 1
        print(f"\nCustomer portal: {portal_url}")
        if login is not None:
            print(f"Demo login: {login[0]} with the temporary password {login[1]} (from its credentials mail)")
        print(f"\nThe daemon keeps running; append mail to IMAP user 'mesadeayuda' (password in "
              f"{root / PASSWORD_FILE}) on 127.0.0.1:{dovecot.port}. Ctrl-C stops everything.", flush=True)
        time.sleep(0.1)
        return cli.main([*config, "run", "--hangup-stops"])  # a closed terminal stops the demo
    finally:
        if portal is not None:
            portal.terminate()  # SIGTERM: uvicorn finishes the requests in hand
            portal.wait(30)
        capture.stop()
        dovecot.stop()
        if temporary:
            shutil.rmtree(dovecot_root, ignore_errors=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # Ctrl-C before the daemon took over; the servers were stopped on the way out
        sys.exit(130)
