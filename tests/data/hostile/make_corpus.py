"""Write the hostile-mail corpus beside this script: `python tests/data/hostile/make_corpus.py`.

Every mail is built here, deterministically, so the .eml files can be regenerated and reviewed. The mails of a
megabyte or more (`BIG_MAILS`) are built by the test instead of being stored, which keeps the repository light.
tests/unit/test_hostile_parse.py checks that the files match this script, and that each mail either parses into
sane fields or is refused with its one-line reason (`Hostile.refusal`). Only example.com/.org/.net addresses."""

from __future__ import annotations

import base64
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEEP = "nested deeper than 20 levels"
NOT_A_MAIL = "not an e-mail: the input does not start with 'Name: value' header lines"
ENCODED_ADDRESS = "the From address contains an RFC 2047 encoded word, which RFC 2047 §5 allows only in display names"
# The corpus is parsed with this attachment cap (bytes), so that "over the cap" fits in a small file.
CORPUS_MAX_ATTACHMENT = 64 * 1024


@dataclass(frozen=True)
class Hostile:
    """One mail: `name` is the file stem, `refusal` the ParseError text when it must go to quarantine."""

    name: str
    raw: bytes
    refusal: str | None = None


def crlf(text: bytes) -> bytes:
    """Mailboxes hand mail over with CRLF; the mails below are written with LF."""
    return text.replace(b"\n", b"\r\n")


BODY = b"Buenos d\xc3\xadas, no puedo ingresar al portal.\n"


def mail(headers: bytes, body: bytes = BODY, *, line_end: bytes = b"\r\n") -> bytes:
    """A mail with the usual envelope headers unless `headers` brings its own From/Date/Message-ID."""
    lines = headers.lower().split(b"\n")
    base = b""
    for name, value in ((b"From", b"Ana Ruiz <ana@example.org>"), (b"To", b"mesadeayuda@example.com"),
                        (b"Date", b"Tue, 4 Jun 2024 09:30:00 -0500"), (b"Message-ID", b"<hostil@example.org>")):
        if not any(line.startswith((name.lower() + b":", b"x-no-" + name.lower() + b":")) for line in lines):
            base += name + b": " + value + b"\n"
    kept = b"\n".join(line for line in headers.split(b"\n") if not line.lower().startswith(b"x-no-"))
    return (base + kept + b"\n\n" + body).replace(b"\n", line_end)


def text_mail(subject: bytes, charset: bytes, body: bytes, encoding: bytes = b"8bit") -> bytes:
    """A single-part text/plain mail in `charset`, its body sent with `encoding`."""
    return mail(b"Subject: " + subject + b"\nContent-Type: text/plain; charset=" + charset
                + b"\nContent-Transfer-Encoding: " + encoding, body)


def multipart(parts: list[bytes], boundary: bytes = b"limite", subtype: bytes = b"mixed", extra: bytes = b"") -> bytes:
    """A multipart mail whose parts are given with their own headers, a blank line and a body."""
    body = b"".join(b"--" + boundary + b"\n" + part + b"\n" for part in parts) + b"--" + boundary + b"--\n"
    return mail(b"Subject: Adjuntos\nMIME-Version: 1.0\nContent-Type: multipart/" + subtype + b'; boundary="'
                + boundary + b'"' + extra, body)


TEXT_PART = b"Content-Type: text/plain; charset=utf-8\n\nAdjunto el archivo.\n"


def attachment(disposition: bytes, data: bytes = b"%PDF-1.4\n%%EOF\n", ctype: bytes = b"application/pdf") -> bytes:
    return (b"Content-Type: " + ctype + b"\nContent-Disposition: " + disposition
            + b"\nContent-Transfer-Encoding: base64\n\n" + base64.encodebytes(data))


def nested_multipart(levels: int) -> bytes:
    opening = b"".join(b'Content-Type: multipart/mixed; boundary="n%d"\n\n--n%d\n' % (i, i) for i in range(levels))
    closing = b"".join(b"--n%d--\n" % i for i in reversed(range(levels)))
    return crlf(b"From: ana@example.org\nSubject: Anidado\n" + opening + b"Content-Type: text/plain\n\nhola\n" + closing)


def nested_messages(levels: int) -> bytes:
    inner = b"Content-Type: message/rfc822\n\nFrom: luis@example.net\nSubject: Reenviado\n" * levels
    return crlf(b"From: ana@example.org\nSubject: Reenviado muchas veces\n" + inner + b"\nhola\n")


def tnef() -> bytes:
    """A small TNEF stream as Outlook writes it: signature 0x223E9F78, key, then attribute records."""
    attribute = b"\x01\x06\x90\x08\x00" + (4).to_bytes(4, "little") + b"\x00\x01\x00\x00" + b"\x01\x00"
    return b"\x78\x9f\x3e\x22" + b"\x01\x00" + attribute


def structure() -> Iterator[Hostile]:
    yield Hostile("boundary-never-appears", mail(
        b'Subject: Sin limite\nContent-Type: multipart/mixed; boundary="nunca"', b"--otro\nContent-Type: text/plain\n\nhola\n"))
    yield Hostile("boundary-not-closed", mail(
        b'Subject: Sin cierre\nContent-Type: multipart/mixed; boundary="b"',
        b"--b\nContent-Type: text/plain\n\nhola\n--b\nContent-Type: application/pdf\n\n%PDF"))
    yield Hostile("boundary-reused-inside", multipart([
        b'Content-Type: multipart/alternative; boundary="limite"\n\n--limite\nContent-Type: text/plain\n\nuno\n--limite--',
        TEXT_PART]))
    yield Hostile("boundary-empty", mail(
        b'Subject: Limite vacio\nContent-Type: multipart/mixed; boundary=""', b"--\nContent-Type: text/plain\n\nhola\n----\n"))
    yield Hostile("boundary-8bit", multipart([TEXT_PART, TEXT_PART], boundary=b"l\xc3\xadmite\xff"))
    yield Hostile("boundary-missing-parameter", mail(
        b"Subject: Sin parametro\nContent-Type: multipart/mixed", b"--x\nContent-Type: text/plain\n\nhola\n--x--\n"))
    yield Hostile("boundary-with-trailing-garbage", mail(
        b'Subject: Basura\nContent-Type: multipart/mixed; boundary="b"',
        b"preambulo\n--b   basura\nContent-Type: text/plain\n\nhola\n--b--basura\nepilogo\n"))
    yield Hostile("no-blank-line-after-headers", b"From: ana@example.org\r\nSubject: Solo cabeceras\r\n")
    yield Hostile("mbox-from-line", b"From ana@example.org Tue Jun  4 09:30:00 2024\n"
                  + mail(b"Subject: Con linea From", line_end=b"\n"))
    yield Hostile("bare-cr-line-endings", mail(b"Subject: Retornos de carro", b"linea uno\nlinea dos\n", line_end=b"\r"))
    yield Hostile("bare-lf-line-endings", mail(b"Subject: Saltos de linea", line_end=b"\n"))
    yield Hostile("header-without-colon", mail(b"Subject: Cabecera rota\nEsto no es una cabecera\nX-Otra: valor"))
    yield Hostile("content-type-garbage", mail(b"Subject: Tipo roto\nContent-Type: ;;;; charset; /; name=", b"hola\n"))
    yield Hostile("content-type-5000-parameters", mail(
        b"Subject: Parametros\nContent-Type: text/plain; " + b"; ".join(b"p%d=v%d" % (i, i) for i in range(5000))))
    yield Hostile("many-parts-2000", multipart([b"Content-Type: application/octet-stream\n\nx"] * 2000))
    yield Hostile("multipart-report", multipart([
        b"Content-Type: text/plain\n\nNo se pudo entregar.",
        b"Content-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.com\n\n"
        b"Final-Recipient: rfc822; x@example.net\nAction: failed\nStatus: 5.1.1",
    ], subtype=b'report; report-type="delivery-status"'))
    yield Hostile("message-global-attached", multipart([
        TEXT_PART, b"Content-Type: message/global\n\nFrom: luis@example.net\nSubject: Reenv\xc3\xado\n\nHola \xc3\xb1\n"]))
    yield Hostile("message-rfc822-empty", multipart([TEXT_PART, b"Content-Type: message/rfc822\n\n"]))
    yield Hostile("headers-5000", mail(
        b"Subject: Muchas cabeceras\n" + b"\n".join(b"X-Relleno-%d: %d" % (i, i) for i in range(5000))))
    yield Hostile("header-line-100k", mail(b"Subject: Cabecera larga\nX-Larga: " + b"a" * 100_000))


def missing() -> Iterator[Hostile]:
    yield Hostile("missing-from", mail(b"X-No-From: 1\nSubject: Sin remitente"))
    yield Hostile("missing-date", mail(b"X-No-Date: 1\nSubject: Sin fecha"))
    yield Hostile("missing-message-id", mail(b"X-No-Message-ID: 1\nSubject: Sin identificador"))
    yield Hostile("missing-everything", crlf(b"X-Solo: esto\n\nNada mas.\n"))
    yield Hostile("dates-impossible", mail(b"Subject: Fechas\nDate: Tue, 31 Feb 99999 25:61:00 +9999"))
    yield Hostile("message-id-10k", mail(b"Subject: Id largo\nMessage-ID: <" + b"x" * 10_000 + b"@example.org>"))
    yield Hostile("references-5000", mail(
        b"Subject: RE: Hilo largo\nIn-Reply-To: <r4999@example.org>\nReferences: "
        + b"\n ".join(b"<r%d@example.org>" % i for i in range(5000))))
    yield Hostile("to-3000-addresses", mail(b"Subject: Muchos destinatarios\nTo: " + b",\n ".join(
        b"Usuario %d <u%d@example.com>" % (i, i) for i in range(3000))))


def charsets() -> Iterator[Hostile]:
    yield Hostile("headers-8bit-utf8", mail(
        b"From: Jos\xc3\xa9 Mar\xc3\xada <jose@example.org>\nSubject: Contrase\xc3\xb1a bloqueada"))
    yield Hostile("headers-8bit-latin1", mail(b"From: Jos\xe9 Mu\xf1oz <jose@example.org>\nSubject: Contrase\xf1a bloqueada"))
    yield Hostile("filename-8bit", multipart([TEXT_PART, attachment(b'attachment; filename="Gu\xeda r\xc3\xa1pida.pdf"')]))
    yield Hostile("charset-unknown", text_mail(b"Desconocido", b"x-desconocido", b"Contrase\xf1a\n"))
    yield Hostile("charset-utf8-lying", text_mail(b"Miente", b"utf-8", b"Contrase\xf1a caducada\n"))
    yield Hostile("charset-iso-is-cp1252", text_mail(b"Comillas", b"iso-8859-1", b"\x93Hola\x94 \x80 100\n"))
    yield Hostile("charset-utf7", text_mail(b"=?utf-7?q?Fr+APY-sche?=", b"utf-7", b"Fr+APY-sche\n"))
    yield Hostile("charset-x-utf7", text_mail(b"=?x-utf-7?q?Fr+APY-sche?=", b"x-utf-7", b"Fr+APY-sche\n"))
    yield Hostile("charset-utf7-lone-surrogate", text_mail(b"=?utf-7?q?+2D3-?=", b"utf-7", b"a+2D3-b\n"))
    yield Hostile("charset-empty", text_mail(b"Vacio", b'""', b"hola \xc3\xb1\n"))
    yield Hostile("charset-python-escape", text_mail(b"=?unicode-escape?q?\\x1b[2J?=", b"unicode-escape", b"\\x1b[2J\\x07\n"))
    yield Hostile("charset-utf16-on-ascii", text_mail(b"UTF-16", b"utf-16", b"hola mundo\n"))
    yield Hostile("encoded-word-bad-base64", mail(b"Subject: =?utf-8?b?####?= y =?utf-8?b?wr9Qb3I?= =?utf-8?b?!!!?="))
    yield Hostile("encoded-word-truncated", mail(b"From: =?utf-8?q?Ana_Ru?= <ana@example.org>\nSubject: =?utf-8?q?Contrase=C3"))
    yield Hostile("encoded-word-unknown-charset", mail(
        b"From: =?x-marciano?q?Ana=F1?= <ana@example.org>\nSubject: =?x-marciano?b?QcOx?="))
    yield Hostile("body-bad-base64", text_mail(b"Base64 roto", b"utf-8", b"SG9s!!!YQ==\n###\n", b"base64"))
    yield Hostile("body-bad-quoted-printable", text_mail(b"QP roto", b"utf-8", b"Hola =ZZ =\n= =C3\n", b"quoted-printable"))
    yield Hostile("body-unknown-transfer-encoding", text_mail(
        b"x-uuencode", b"us-ascii", b"begin 644 a.txt\n#86)C\n`\nend\n", b"x-uuencode"))
    yield Hostile("body-line-100k", mail(b"Subject: Una sola linea", b"a" * 100_000 + b"\n"))


def nesting() -> Iterator[Hostile]:
    yield Hostile("nested-multipart-20", nested_multipart(20))
    yield Hostile("nested-multipart-21", nested_multipart(21), DEEP)
    yield Hostile("nested-multipart-2000", nested_multipart(2000), DEEP)
    yield Hostile("nested-message-20", nested_messages(20))
    yield Hostile("nested-message-21", nested_messages(21), DEEP)
    yield Hostile("nested-message-1500", nested_messages(1500), DEEP)


def attachments() -> Iterator[Hostile]:
    yield Hostile("attachment-zero-bytes", multipart([TEXT_PART, attachment(b'attachment; filename="vacio.pdf"', b"")]))
    yield Hostile("attachment-over-cap", multipart([
        TEXT_PART, attachment(b'attachment; filename="RUT.pdf"', b"%PDF-1.4\n" + bytes(range(256)) * 300),
        attachment(b'attachment; filename="pequeno.pdf"')]))
    yield Hostile("tnef-winmail-dat", multipart([TEXT_PART, attachment(
        b'attachment; filename="winmail.dat"', tnef(), b'application/ms-tnef; name="winmail.dat"')]))
    for stem, disposition in [
        ("filename-traversal-unix", b'attachment; filename="../../../etc/passwd"'),
        ("filename-traversal-windows", b'attachment; filename="..\\\\..\\\\Windows\\\\System32\\\\drivers\\\\etc\\\\hosts"'),
        ("filename-traversal-rfc2231", b"attachment; filename*=utf-8''..%2F..%2F.ssh%2Fauthorized_keys"),
        ("filename-traversal-encoded-word", b'attachment; filename="=?utf-8?q?=2E=2E=2F=2E=2E=2Fetc=2Fshadow?="'),
        ("filename-absolute", b'attachment; filename="/var/mail/root"'),
        ("filename-nul-and-controls", b'attachment; filename="fac\x00tura\x1b[2J\x07\r\n.pdf"'),
        ("filename-only-dots", b'attachment; filename="..."'),
        ("filename-bidi-override", b'attachment; filename="=?utf-8?q?factura=E2=80=AEfdp.exe?="'),
        ("filename-5000-chars", b'attachment; filename="' + b"x" * 5000 + b'.pdf"'),
        ("filename-windows-device", b'attachment; filename="CON.txt"'),
    ]:
        yield Hostile(stem, multipart([TEXT_PART, attachment(disposition)]))


def injection() -> Iterator[Hostile]:
    yield Hostile("nul-bytes", mail(b"Subject: =?utf-8?q?ho=00la?= \x00\nX-Nul: a\x00b", b"bu\x00enas\x00\n"))
    yield Hostile("subject-rtl", mail("Subject: בקשה לאיפוס סיסמה — طلب\nContent-Type: text/plain; charset=utf-8".encode()))
    yield Hostile("subject-emoji", mail(b"Subject: =?utf-8?b?" + base64.b64encode("Urgente 🚨🔥 ayuda 👩🏽‍💻".encode()) + b"?="))
    yield Hostile("subject-bidi-override", mail(b"Subject: =?utf-8?q?Factura_=E2=80=AEfdp.exe?="))
    yield Hostile("subject-crlf-encoded", mail(b"Subject: =?utf-8?q?Hola=0D=0ABcc:_victim@example.net=0D=0A=0D=0AFAKE_BODY?="))
    yield Hostile("subject-bare-cr", mail(b"Subject: Hola\rBcc: victim@example.net"))
    yield Hostile("subject-1000-encoded-words", mail(b"Subject: " + b" ".join([b"=?utf-8?q?Contrase=C3=B1a?="] * 1000)))
    yield Hostile("name-crlf-injection", mail(
        b"From: =?utf-8?q?Juan_A3=0D=0ABcc:_victim@example.net=0D=0A=0D=0AFAKE_BODY?= <juan@example.org>\nSubject: Alta"))
    yield Hostile("control-characters", mail(
        b"From: =?utf-8?q?Ana=1B[31m=07?= <ana@example.org>\nSubject: Pedido\x1b[2J\x1b]0;pwned\x07 urgente",
        b"Texto\x1b[31m rojo\x07 y \x9b2J\n"))
    yield Hostile("html-script-only", mail(b"Subject: HTML\nContent-Type: text/html; charset=utf-8", (
        b"<html><head><script>alert(document.cookie)</script><style>p{color:red}</style></head>"
        b'<body onload="alert(1)"><p>Hola <img src=x onerror="alert(2)"></p><a href="javascript:alert(3)">aqui</a>'
        b"<iframe src=\"https://example.net/\"></iframe></body></html>\n")))
    yield Hostile("html-malformed", mail(b"Subject: HTML roto\nContent-Type: text/html; charset=utf-8",
                                         b'<?xml version="1.0" encoding="utf-8"?><!-- <p>comentario -->'
                                         b"<div><p>Hola<td></table><b>sin cerrar\n"))
    yield Hostile("html-deep-divs", mail(
        b"Subject: Divs\nContent-Type: text/html", b"<div>" * 5000 + b"hola" + b"</div>" * 5000))
    yield Hostile("jinja-syntax", mail(
        b"From: =?utf-8?q?{{_password_}}?= <ana@example.org>\nSubject: {% include 'es/credentials.txt.j2' %} {{ desk.name }}",
        b"{{ ''.__class__.__mro__[1].__subclasses__() }}\n{% for x in range(10**9) %}{% endfor %}\n{{ password }}\n"))


def identity() -> Iterator[Hostile]:
    yield Hostile("from-lookalike-unquoted", mail(b"From: victim@bank.example.com <evil@example.net>\nSubject: Cambio"))
    yield Hostile("from-lookalike-quoted", mail(b'From: "victim@bank.example.com" <evil@example.net>\nSubject: Cambio'))
    yield Hostile("from-lookalike-fullwidth-at", mail("From: victim＠bank.example.com <evil@example.net>".encode()))
    yield Hostile("from-several-mailboxes", mail(b"From: ana@example.org, luis@example.net\nSubject: Dos autores"))
    yield Hostile("from-two-fields", mail(b"From: ana@example.org\nFrom: luis@example.net\nSubject: Dos campos From"))
    yield Hostile("from-encoded-word-address", mail(b"From: =?utf-8?q?soporte?=@example.net\nSubject: Hola"), ENCODED_ADDRESS)
    yield Hostile("from-encoded-word-in-angle", mail(b"From: Ana <=?utf-8?q?ana=40example.org?=@example.net>\nSubject: Hola"),
                  ENCODED_ADDRESS)
    yield Hostile("from-group", mail(b"From: Ventas: ana@example.org;\nSubject: Grupo"))
    yield Hostile("from-empty", mail(b"From: \nSubject: Vacio"))
    yield Hostile("from-nested-comments", mail(b"From: " + b"(" * 400 + b"x" + b")" * 400 + b" ana@example.org"))
    yield Hostile("from-address-as-name", mail(b"From: ventas@tienda.example.com <ventas@tienda.example.com>\nSubject: Pedido"))
    yield Hostile("from-directory-caps", mail(b'From: "RUIZ GOMEZ, MARTA LUCIA" <mruiz@example.org>\nSubject: Alta'))


def not_mail() -> Iterator[Hostile]:
    yield Hostile("not-mail-binary", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), NOT_A_MAIL)
    yield Hostile("not-mail-empty", b"", "empty input: there is no mail to parse")
    yield Hostile("not-mail-prose", b"Hola, esto no es un correo.\nSolo texto.\n", NOT_A_MAIL)


def corpus() -> list[Hostile]:
    """Every stored mail, in a stable order."""
    return [*structure(), *missing(), *charsets(), *nesting(), *attachments(), *injection(), *identity(), *not_mail()]


# The mails of a megabyte or more, built at test time rather than stored; none of them is refused.
BIG_MAILS: dict[str, Callable[[], bytes]] = {
    "subject-1mb": lambda: mail(b"Subject: " + b"Factura " * 131_072),
    "body-1mb-single-line": lambda: mail(b"Subject: Una linea", b"x" * 2**20 + b"\n"),
    "html-1mb-single-line": lambda: mail(b"Subject: HTML\nContent-Type: text/html", b"<p>" + b"hola " * 209_716 + b"</p>"),
    "references-300k": lambda: mail(b"References: " + b" ".join(b"<r%d@example.org>" % i for i in range(300_000))),
    "to-40k-addresses": lambda: mail(b"To: " + b", ".join(b"U %d <u%d@example.com>" % (i, i) for i in range(40_000))),
}


def main(directory: Path = HERE) -> None:
    """Rewrite the corpus: every .eml here is replaced, so a renamed mail leaves no stale file."""
    for stale in directory.glob("*.eml"):
        stale.unlink()
    for hostile in corpus():
        (directory / f"{hostile.name}.eml").write_bytes(hostile.raw)
    print(f"wrote {len(corpus())} mails to {directory}", file=sys.stderr)


if __name__ == "__main__":
    main()
