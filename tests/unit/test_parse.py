"""Unit tests for mailbot.mail.parse: charsets, headers, bodies, attachments, fingerprints and rejection."""

from __future__ import annotations

import base64
import traceback
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailbot.mail.parse import Attachment, InboundMail, ParseError, ParseLimits, parse_message
from tests.costs import assert_costs_like


def wire(message: bytes) -> bytes:
    """Messages below are written with LF; mailboxes hand them over with CRLF."""
    return message.replace(b"\n", b"\r\n")


def with_subject(encoded: bytes) -> bytes:
    return wire(
        b"From: soporte@example.org\n"
        b"To: mesa@example.com\n"
        b"Subject: " + encoded + b"\n"
        b"Message-ID: <asunto@example.org>\n"
        b"\n"
        b"Hola.\n"
    )


def with_body(content_type: bytes, encoding: bytes, body: bytes) -> bytes:
    return wire(
        b"From: ana@example.org\n"
        b"To: mesa@example.com\n"
        b"Subject: Consulta\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: " + content_type + b"\n"
        b"Content-Transfer-Encoding: " + encoding + b"\n"
        b"\n"
    ) + body


# --- subjects and other headers -------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoded", "expected"),
    [
        (b"=?ISO-8859-1?Q?Solicitud_de_cambio_de_contrase=F1a?=", "Solicitud de cambio de contraseña"),
        (b"=?utf-8?Q?Solicitud_de_cambio_de_contrase=C3=B1a?=", "Solicitud de cambio de contraseña"),
        (b"=?UTF-8?B?wr9Qb3IgcXXDqSBubyBmdW5jaW9uYSBlbCBjb3JyZW8/?=", "¿Por qué no funciona el correo?"),
        (b"=?windows-1252?Q?=93Urgente=94_=96_factura_de_100_=80?=", "“Urgente” – factura de 100 €"),
        (b"Re: =?iso-8859-1?q?Reuni=F3n?= =?utf-8?q?_de_ma=C3=B1ana?= sin cambios", "Re: Reunión de mañana sin cambios"),
        (b"=?utf-7?q?Fr+APY-sche?=", "Frösche"),
        (b"=?x-utf-7?q?Fr+APY-sche?=", "Frösche"),
        (b"=?UTF-7?B?RnIrQVBZLXNjaGU?=", "Frösche"),
        (b"=?utf-8?b?wr9Qb3Ig?= =?utf-8?b?cXXD?=\n =?utf-8?b?qQ==?=", "¿Por qué"),
        (b"=?utf-8*es?q?Contrase=C3=B1a?=", "Contraseña"),
        (b"=?utf-8?q?a?= =?utf-8?b?####?= =?utf-8?q?b?=", "a =?utf-8?b?####?= b"),
        (b"C:\\u0041 =?utf-8?q?x?=", "C:\\u0041 x"),
        (b"=?unicode-escape?q?\\x1b?=", "\\x1b"),
    ],
    ids=["iso-8859-1", "utf-8-q", "utf-8-b", "windows-1252", "mixed-charsets", "utf-7", "x-utf-7", "utf-7-b",
         "character-split-between-words", "rfc2231-language", "bad-base64-kept-as-written", "backslashes-kept",
         "python-escape-codec-refused"],
)
def test_encoded_word_subjects_decode_by_their_own_charset(encoded: bytes, expected: str) -> None:
    assert parse_message(with_subject(encoded)).subject == expected


def test_folded_subject_is_unfolded_and_whitespace_collapsed() -> None:
    mail = parse_message(with_subject(b"Problema con la impresora\n\t de la   segunda planta\n  =?utf-8?q?(edif?=\n =?utf-8?q?icio_B)?="))
    assert mail.subject == "Problema con la impresora de la segunda planta (edificio B)"


@pytest.mark.parametrize(
    ("charset", "body", "expected"),
    [
        (b"utf-7", b"Fr+APY-sche", "Frösche"),
        (b"x-utf-7", b"Fr+APY-sche", "Frösche"),
        (b"unicode-1-1-utf-7", b"Fr+APY-sche", "Frösche"),
        (b"x-unicode-2-0-utf-7", b"Fr+APY-sche", "Frösche"),
        (b"iso-8859-8-i", b"\xf9\xec\xe5\xed", "שלום"),
        (b"windows-874", b"\xca\xc7\xd1\xca\xb4\xd5", "สวัสดี"),
        (b"x-gbk", "你好".encode("gbk"), "你好"),
    ],
)
def test_charset_labels_python_does_not_know_still_decode(charset: bytes, body: bytes, expected: str) -> None:
    assert parse_message(with_body(b"text/plain; charset=" + charset, b"8bit", body + b"\n")).text == expected + "\n"


def test_subject_in_unknown_or_lying_charset_decodes_without_replacement_characters() -> None:
    assert parse_message(with_subject(b"=?x-unknown?Q?Contrase=F1a?=")).subject == "Contraseña"
    assert parse_message(with_subject(b"=?utf-8?Q?Contrase=F1a?=")).subject == "Contraseña"


def test_raw_8bit_headers_decode_as_utf8_then_latin1() -> None:
    raw = wire(
        b"From: Jos\xc3\xa9 Mar\xc3\xada <jose@example.org>\n"
        b"To: mesa@example.com\n"
        b"Subject: Pedido de caf\xe9 para la sala\n"
        b"\n"
        b"Hola.\n"
    )
    mail = parse_message(raw)
    assert mail.from_name == "José María"
    assert mail.subject == "Pedido de café para la sala"


def test_encoded_display_name_is_decoded_and_address_lower_cased() -> None:
    raw = wire(
        b"From: =?ISO-8859-1?Q?Jos=E9_Mu=F1oz?= <Jose.Munoz@Example.ORG>\n"
        b'To: "Mesa de Ayuda" <Mesa@Example.com>, =?utf-8?q?P=C3=A9rez=2C_Ana?= <ana@example.com>\n'
        b"Cc: Soporte <SOPORTE@example.org>\n"
        b"Subject: Alta\n"
        b"\n"
        b"Hola.\n"
    )
    mail = parse_message(raw)
    assert mail.from_addr == "jose.munoz@example.org"
    assert mail.from_name == "José Muñoz"
    assert mail.to == ("mesa@example.com", "ana@example.com")
    assert mail.cc == ("soporte@example.org",)


def test_missing_subject_and_from_are_empty_not_errors() -> None:
    mail = parse_message(wire(b"To: mesa@example.com\n\nSin remitente.\n"))
    assert (mail.subject, mail.from_addr, mail.from_name, mail.message_id, mail.date) == ("", None, "", None, None)


@pytest.mark.parametrize(
    "from_header",
    [
        b"From: <<<>>> @@ ,,, \"",
        b"From: Juan <juan@example.org",
        b"From: \"sin cerrar <juan@example.org>",
        b"From: =?utf-8?b?####?= <juan@example.org>",
        b"From: undisclosed-recipients:;",
        b"From: ",
    ],
    ids=["garbage", "unclosed-angle", "unclosed-quote", "bad-encoded-word", "empty-group", "empty"],
)
def test_malformed_from_header_does_not_crash(from_header: bytes) -> None:
    mail = parse_message(wire(from_header + b"\nSubject: Prueba\n\nCuerpo.\n"))
    assert mail.subject == "Prueba"
    assert mail.from_addr is None or "@" in mail.from_addr
    assert mail.header("from") is not None


def test_message_id_keeps_brackets_and_drops_whitespace() -> None:
    mail = parse_message(wire(b"From: a@example.org\nMessage-ID:\n  <abc.123@\n example.org>  \n\nx\n"))
    assert mail.message_id == "<abc.123@example.org>"


@pytest.mark.parametrize(
    ("header", "expected"),
    [(b"abc.123@example.org", "<abc.123@example.org>"), (b"abc@example.org>x:y", "<abc@example.orgx:y>")],
    ids=["bare", "stray-bracket"],
)
def test_message_id_without_brackets_gets_them_and_loses_stray_ones(header: bytes, expected: str) -> None:
    # A mangled mail used to give "<abc@example.org>x:y>", which broke the References of our reply.
    assert parse_message(wire(b"From: a@example.org\nMessage-ID: " + header + b"\n\nx\n")).message_id == expected


@pytest.mark.parametrize("header", [b"", b"Message-ID: \n", b"Message-ID: <>\n"], ids=["missing", "blank", "empty"])
def test_missing_or_empty_message_id_is_none(header: bytes) -> None:
    assert parse_message(wire(b"From: a@example.org\n" + header + b"\nx\n")).message_id is None


def test_in_reply_to_and_references_keep_order() -> None:
    raw = wire(
        b"From: ana@example.org\n"
        b"Subject: RE: Alta\n"
        b"In-Reply-To: <c3@example.com> (mensaje de Luis)\n"
        b"References: <c1@example.com>\n"
        b" <c2@example.com>\t<c3@example.com>\n"
        b"\n"
        b"Gracias.\n"
    )
    mail = parse_message(raw)
    assert mail.in_reply_to == ("<c3@example.com>",)
    assert mail.references == ("<c1@example.com>", "<c2@example.com>", "<c3@example.com>")


def test_date_is_timezone_aware_and_bad_dates_are_none() -> None:
    def date_of(value: bytes) -> datetime | None:
        return parse_message(wire(b"From: a@example.org\nDate: " + value + b"\n\nx\n")).date

    assert date_of(b"Tue, 4 Jun 2024 09:30:00 +0200") == datetime(2024, 6, 4, 9, 30, tzinfo=timezone(timedelta(hours=2)))
    assert date_of(b"Tue, 4 Jun 2024 09:30:00 -0000") == datetime(2024, 6, 4, 9, 30, tzinfo=timezone.utc)
    assert date_of(b"martes por la tarde") is None
    assert date_of(b"Tue, 31 Feb 2024 09:30:00 +0200") is None


def test_headers_are_kept_in_order_decoded_and_looked_up_case_insensitively() -> None:
    raw = wire(
        b"Received: from mx1.example.org\n"
        b"Received: from mx2.example.org\n"
        b"From: ana@example.org\n"
        b"Subject: =?utf-8?q?Contrase=C3=B1a?=\n"
        b"X-Prioridad: alta\n"
        b"\n"
        b"x\n"
    )
    mail = parse_message(raw)
    assert [name for name, _ in mail.headers] == ["received", "received", "from", "subject", "x-prioridad"]
    assert mail.header("RECEIVED") == "from mx1.example.org"
    assert mail.header("Subject") == "Contraseña"
    assert mail.header("x-no-existe") is None


def test_nul_characters_never_reach_text_fields() -> None:
    mail = parse_message(wire(b"From: a@example.org\nSubject: =?utf-8?q?ho=00la?=\n\nbu\x00enas\n"))
    assert (mail.subject, mail.text) == ("hola", "buenas\n")


# --- body text ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("charset", "encoding", "body", "expected"),
    [
        (b"iso-8859-1", b"quoted-printable", b"Contrase=F1a caducada, =BFme ayud=E1is?\n", "Contraseña caducada, ¿me ayudáis?"),
        (b"ISO-8859-1", b"8bit", b"Contrase\xf1a caducada, \xbfme ayud\xe1is?\n", "Contraseña caducada, ¿me ayudáis?"),
        (b"windows-1252", b"quoted-printable", b"=93Factura=94 de 100 =80 =96 pagada\n", "“Factura” de 100 € – pagada"),
        (b"windows-1252", b"8bit", b"\x93Factura\x94 de 100 \x80 \x96 pagada\n", "“Factura” de 100 € – pagada"),
        (b"utf-8", b"base64", base64.encodebytes("Añadir cuenta de correo".encode()), "Añadir cuenta de correo"),
    ],
    ids=["latin1-qp", "latin1-8bit", "cp1252-qp", "cp1252-8bit", "utf8-base64"],
)
def test_text_body_is_decoded_by_its_declared_charset(charset: bytes, encoding: bytes, body: bytes, expected: str) -> None:
    mail = parse_message(with_body(b"text/plain; charset=" + charset, encoding, body))
    assert mail.text.strip() == expected
    assert "\ufffd" not in mail.text


def test_iso_8859_1_label_on_windows_1252_bytes_still_decodes_smart_quotes() -> None:
    mail = parse_message(with_body(b"text/plain; charset=iso-8859-1", b"8bit", b"\x93Hola\x94 \x80\n"))
    assert mail.text == "“Hola” €\n"


def test_lying_utf8_charset_with_latin1_bytes_falls_back() -> None:
    mail = parse_message(with_body(b"text/plain; charset=utf-8", b"8bit", b"No recuerdo mi contrase\xf1a\n"))
    assert mail.text == "No recuerdo mi contraseña\n"


def test_utf16_label_on_bytes_without_nul_is_a_lie() -> None:
    lying = parse_message(with_body(b"text/plain; charset=utf-16", b"8bit", b"hola mundo\n"))
    honest = parse_message(with_body(b"text/plain; charset=utf-16", b"base64", base64.encodebytes("hola ñ".encode("utf-16"))))
    assert (lying.text, honest.text) == ("hola mundo\n", "hola ñ")


def test_unknown_charset_falls_back_to_utf8_then_windows_1252() -> None:
    utf8 = parse_message(with_body(b"text/plain; charset=x-unknown", b"8bit", "Añadir impresión\n".encode()))
    cp1252 = parse_message(with_body(b'text/plain; charset="x-unknown"', b"8bit", b"A\xf1adir impresi\xf3n\n"))
    assert utf8.text == cp1252.text == "Añadir impresión\n"


def test_text_line_endings_are_normalised() -> None:
    mail = parse_message(with_body(b"text/plain; charset=utf-8", b"7bit", b"uno\r\ndos\r\n"))
    assert mail.text == "uno\ndos\n"


HTML_ONLY = wire(
    b"From: ana@example.org\n"
    b"Subject: Incidencia\n"
    b"MIME-Version: 1.0\n"
    b'Content-Type: text/html; charset="iso-8859-1"\n'
    b"Content-Transfer-Encoding: quoted-printable\n"
    b"\n"
    b"<html><head><style>p { color: red; }</style>\n"
    b"<script>alert('no deber=EDa verse');</script></head>\n"
    b"<body><p>Buenos d=EDas,</p><p>La <b>impresora</b> no funciona.</p>\n"
    b"<br><br><br><br><br><br>\n"
    b"<div>Un saludo,<br>Ana Mart=EDn</div></body></html>\n"
)


def test_html_only_mail_gets_readable_text_without_tags_or_scripts() -> None:
    mail = parse_message(HTML_ONLY)
    assert mail.html is not None and "<b>impresora</b>" in mail.html
    assert "Buenos días," in mail.text
    assert "La impresora no funciona." in mail.text
    assert "Ana Martín" in mail.text
    assert "<" not in mail.text
    assert "alert" not in mail.text and "color" not in mail.text
    assert "\n\n\n\n" not in mail.text
    assert mail.text == mail.text.strip()


def test_xml_declarations_before_the_html_are_skipped_at_the_cost_of_reading_them() -> None:
    """lxml refuses a str document that declares an encoding, so declarations are skipped; skipping them one at a
    time copied the rest of the document each time (2.4 MB of them took 12 s)."""
    declarations = b'<?xml version="1.0" encoding="utf-8"?>\n' + b"<?xml>" * 400_000
    hostile = with_body(b"text/html; charset=utf-8", b"8bit", declarations + b"<p>Hola</p>")
    plain = with_body(b"text/plain; charset=utf-8", b"8bit", b"x" * len(declarations) + b"\nHola")
    assert parse_message(hostile).text == "Hola"
    assert_costs_like(lambda: parse_message(hostile), lambda: parse_message(plain))


def test_multipart_alternative_prefers_text_plain_and_keeps_html() -> None:
    raw = wire(
        b"From: ana@example.org\n"
        b"Subject: Alta\n"
        b"MIME-Version: 1.0\n"
        b'Content-Type: multipart/alternative; boundary="alt"\n'
        b"\n"
        b"--alt\n"
        b"Content-Type: text/plain; charset=iso-8859-1\n"
        b"Content-Transfer-Encoding: quoted-printable\n"
        b"\n"
        b"Versi=F3n texto.\n"
        b"--alt\n"
        b"Content-Type: text/html; charset=utf-8\n"
        b"\n"
        b"<p>Versi\xc3\xb3n HTML.</p>\n"
        b"--alt--\n"
    )
    mail = parse_message(raw)
    assert mail.text.strip() == "Versión texto."
    assert mail.html is not None and mail.html.strip() == "<p>Versión HTML.</p>"
    assert mail.attachments == ()


def test_mail_without_text_parts_has_empty_text() -> None:
    raw = with_body(b"application/pdf", b"base64", base64.encodebytes(b"%PDF-1.4\n"))
    mail = parse_message(raw)
    assert (mail.text, mail.html) == ("", None)
    assert [a.filename for a in mail.attachments] == ["adjunto-1.pdf"]


# --- attachments ----------------------------------------------------------------------------

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def with_attachment(headers: bytes, body: bytes) -> bytes:
    return wire(
        b"From: ana@example.org\n"
        b"Subject: Documentos\n"
        b"MIME-Version: 1.0\n"
        b'Content-Type: multipart/mixed; boundary="mix"\n'
        b"\n"
        b"--mix\n"
        b"Content-Type: text/plain; charset=utf-8\n"
        b"\n"
        b"Adjunto el documento.\n"
        b"--mix\n" + headers + b"\n\n" + body + b"\n--mix--\n"
    )


def test_pdf_attachment_keeps_name_type_and_bytes() -> None:
    headers = (
        b'Content-Type: application/pdf; name="informe.pdf"\n'
        b'Content-Disposition: attachment; filename="informe.pdf"\n'
        b"Content-Transfer-Encoding: base64"
    )
    mail = parse_message(with_attachment(headers, base64.encodebytes(PDF).rstrip()))
    assert mail.text == "Adjunto el documento."
    assert mail.attachments == (Attachment(filename="informe.pdf", content_type="application/pdf", data=PDF),)
    assert len(mail.attachments[0].data) == len(PDF)


@pytest.mark.parametrize(
    ("disposition", "expected"),
    [
        (b"attachment; filename*=utf-8''Informe%20de%20reuni%C3%B3n%20a%C3%B1o.pdf", "Informe de reunión año.pdf"),
        (b"attachment; filename*0*=iso-8859-1''Contrase%F1as%20; filename*1*=de%20acceso.pdf", "Contraseñas de acceso.pdf"),
        (b"attachment; filename*=utf-8''Contrase%F1a.pdf", "Contraseña.pdf"),
        (b'attachment; filename="=?utf-8?q?Presentaci=C3=B3n_anual.pdf?="', "Presentación anual.pdf"),
        (b'attachment; filename="Gu\xc3\xada r\xc3\xa1pida.pdf"', "Guía rápida.pdf"),
    ],
    ids=["rfc2231-utf8", "rfc2231-latin1-continued", "rfc2231-lying-charset", "rfc2047-quoted", "raw-8bit"],
)
def test_attachment_filenames_are_decoded(disposition: bytes, expected: str) -> None:
    headers = b"Content-Type: application/pdf\nContent-Disposition: " + disposition + b"\nContent-Transfer-Encoding: base64"
    (attachment,) = parse_message(with_attachment(headers, base64.encodebytes(PDF))).attachments
    assert attachment.filename == expected


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        (b"../../etc/passwd", "passwd"),
        (b"..\\\\..\\\\Windows\\\\win.ini", "win.ini"),
        (b"/var/tmp/../informe.pdf", "informe.pdf"),
        (b"fac\x00tura\x07.pdf", "factura.pdf"),
        (b"..", "adjunto-1.pdf"),
        (b"carpeta/", "adjunto-1.pdf"),
        (b"=?utf-8?q?factura=E2=80=AEfdp.exe?=", "facturafdp.exe"),
    ],
    ids=["dot-dot", "backslashes", "absolute", "control-chars", "only-dots", "trailing-slash", "bidi-override"],
)
def test_attachment_filenames_are_safe_basenames(filename: bytes, expected: str) -> None:
    headers = b'Content-Type: application/pdf\nContent-Disposition: attachment; filename="' + filename + b'"'
    (attachment,) = parse_message(with_attachment(headers, PDF)).attachments
    assert attachment.filename == expected


def test_nameless_attachments_get_numbered_names_from_their_type() -> None:
    raw = wire(
        b"From: ana@example.org\n"
        b'Content-Type: multipart/mixed; boundary="mix"\n'
        b"\n"
        b"--mix\n"
        b"Content-Type: application/pdf\n"
        b"\n"
        b"%PDF-1.4\n"
        b"--mix\n"
        b"Content-Type: application/x-desconocido\n"
        b"Content-Disposition: attachment\n"
        b"\n"
        b"datos\n"
        b"--mix--\n"
    )
    assert [a.filename for a in parse_message(raw).attachments] == ["adjunto-1.pdf", "adjunto-2.bin"]


def test_inline_image_and_named_text_part_are_attachments() -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
    raw = wire(
        b"From: ana@example.org\n"
        b'Content-Type: multipart/related; boundary="rel"\n'
        b"\n"
        b"--rel\n"
        b"Content-Type: text/html; charset=utf-8\n"
        b"\n"
        b'<p>Captura:</p><img src="cid:captura@example.org">\n'
        b"--rel\n"
        b"Content-Type: image/png\n"
        b"Content-ID: <captura@example.org>\n"
        b"Content-Disposition: inline\n"
        b"Content-Transfer-Encoding: base64\n"
        b"\n" + base64.encodebytes(png) + b"--rel\n"
        b'Content-Type: text/plain; charset=utf-8; name="registro.txt"\n'
        b"\n"
        b"linea 1 del registro\n"
        b"--rel--\n"
    )
    mail = parse_message(raw)
    assert [(a.filename, a.content_type) for a in mail.attachments] == [
        ("adjunto-1.png", "image/png"),
        ("registro.txt", "text/plain"),
    ]
    assert mail.attachments[0].data == png
    assert mail.text == "Captura:"  # the named text part is not the body


def test_attached_message_is_kept_whole_as_eml() -> None:
    inner = wire(
        b"From: luis@example.com\n"
        b"Subject: =?utf-8?q?Petici=C3=B3n_original?=\n"
        b"Message-ID: <original@example.com>\n"
        b'Content-Type: multipart/mixed; boundary="dentro"\n'
        b"\n"
        b"--dentro\n"
        b"Content-Type: text/plain; charset=utf-8\n"
        b"\n"
        b"Texto del mensaje reenviado.\n"
        b"--dentro\n"
        b'Content-Type: application/pdf; name="dentro.pdf"\n'
        b"\n"
        b"%PDF-1.4\n"
        b"--dentro--\n"
    )
    raw = wire(
        b"From: ana@example.org\n"
        b"Subject: RV: Petici\xc3\xb3n original\n"
        b"Message-ID: <reenvio@example.org>\n"
        b'Content-Type: multipart/mixed; boundary="fuera"\n'
        b"\n"
        b"--fuera\n"
        b"Content-Type: text/plain; charset=utf-8\n"
        b"\n"
        b"Os reenv\xc3\xado el mensaje.\n"
        b"--fuera\n"
        b"Content-Type: message/rfc822\n"
        b"\n"
    ) + inner + wire(b"\n--fuera--\n")
    mail = parse_message(raw)
    assert mail.text == "Os reenvío el mensaje."  # the line break before a boundary belongs to it
    (attachment,) = mail.attachments
    assert (attachment.filename, attachment.content_type) == ("mensaje-1.eml", "message/rfc822")
    assert attachment.data == inner
    assert parse_message(attachment.data).message_id == "<original@example.com>"


# --- limits (hostile-mail issue) -------------------------------------------------------------


def test_subject_is_one_line_capped_and_the_rest_kept_in_the_raw() -> None:
    # A 1 MB subject used to make composing the reply quadratic; the acknowledgement echoed it five times.
    raw = with_subject(b"Factura " * 131_072)
    mail = parse_message(raw)
    assert len(mail.subject) == 255 and mail.subject.endswith("…")
    assert mail.subject.startswith("Factura Factura")
    assert mail.raw == raw and len(mail.header("subject") or "") > 1_000_000


@pytest.mark.parametrize(
    ("encoded", "expected"),
    [
        (b"=?utf-8?q?Hola=0D=0ABcc:_victim@example.net?=", "Hola Bcc: victim@example.net"),
        (b"Pedido\x1b[2J\x07 urgente", "Pedido[2J urgente"),
        (b"=?utf-8?q?=E2=80=AEfdp.exe?=", "fdp.exe"),
        ("Envío 🚚 \u05e9\u05dc\u05d5\u05dd".encode(), "Envío 🚚 \u05e9\u05dc\u05d5\u05dd"),
    ],
    ids=["crlf-injection", "control-chars", "bidi-override", "emoji-and-rtl-kept"],
)
def test_subject_is_stripped_of_line_breaks_controls_and_bidi_overrides(encoded: bytes, expected: str) -> None:
    assert parse_message(with_subject(encoded)).subject == expected


def test_subject_cap_follows_the_limits() -> None:
    assert parse_message(with_subject(b"Solicitud de alta"), ParseLimits(max_subject=10)).subject == "Solicitud…"


def ids(count: int, start: int = 0) -> bytes:
    return b" ".join(b"<id%d@example.org>" % i for i in range(start, start + count))


def test_references_keep_the_last_ids_and_in_reply_to_the_first() -> None:
    # 300k ids in References overflowed SQLite's variable limit.
    raw = wire(b"From: ana@example.org\nIn-Reply-To: " + ids(60) + b"\nReferences: " + ids(300_000) + b"\n\nx\n")
    mail = parse_message(raw)
    assert mail.in_reply_to == tuple(f"<id{i}@example.org>" for i in range(50))
    assert mail.references == tuple(f"<id{i}@example.org>" for i in range(299_950, 300_000))


def test_address_lists_are_capped_per_header_kind() -> None:
    to = b", ".join(b"u%d@example.org" % i for i in range(150))
    mail = parse_message(wire(b"From: ana@example.org\nTo: " + to + b"\nCc: " + to + b"\n\nx\n"))
    assert mail.to == mail.cc == tuple(f"u{i}@example.org" for i in range(100))


@pytest.mark.parametrize("field", ["max_subject", "max_name", "max_ids", "max_addresses", "max_depth", "max_attachment_size"])
def test_limits_below_one_are_refused(field: str) -> None:
    with pytest.raises(ValueError, match=f"ParseLimits.{field} must be at least 1, got 0"):
        ParseLimits(**{field: 0})  # type: ignore[arg-type]


def nested_multipart(levels: int) -> bytes:
    opening = b"".join(b'Content-Type: multipart/mixed; boundary="b%d"\n\n--b%d\n' % (i, i) for i in range(levels))
    closing = b"".join(b"--b%d--\n" % i for i in reversed(range(levels)))
    return b"From: ana@example.org\nSubject: Anidado\n" + opening + b"Content-Type: text/plain\n\nhola\n" + closing


def nested_messages(levels: int) -> bytes:
    return b"From: ana@example.org\nSubject: Anidado\n" + b"Content-Type: message/rfc822\n\nFrom: b@example.org\n" * levels + b"\nhola\n"


def test_nesting_up_to_the_limit_parses() -> None:
    assert parse_message(nested_multipart(20)).text == "hola"
    assert parse_message(nested_messages(20)).attachments[0].filename == "mensaje-1.eml"


@pytest.mark.parametrize(
    "raw",
    [nested_multipart(21), nested_messages(21), nested_messages(5_000)],
    ids=["multipart", "message-rfc822", "past-the-recursion-limit"],
)
def test_mail_nested_too_deep_is_refused_with_a_one_line_reason(raw: bytes, caplog: pytest.LogCaptureFixture) -> None:
    # 5,000 levels used to end in a thousand-line RecursionError traceback in the log.
    with pytest.raises(ParseError) as caught:
        parse_message(raw)
    assert str(caught.value) == "nested deeper than 20 levels"
    assert "RecursionError" not in "".join(traceback.format_exception(caught.value))
    assert not caplog.records


def test_attachment_over_the_size_limit_is_dropped_with_a_note() -> None:
    big = b"%PDF-1.4\n" + b"0" * (3 * 2**20)
    headers = b'Content-Type: application/pdf\nContent-Disposition: attachment; filename="RUT.pdf"\nContent-Transfer-Encoding: base64'
    raw = with_attachment(headers, base64.encodebytes(big))
    mail = parse_message(raw, ParseLimits(max_attachment_size=2 * 2**20))
    assert mail.attachments == ()
    assert mail.dropped_attachments == ("RUT.pdf (3.0 MB) dropped: over the 2.0 MB limit",)
    assert mail.text == "Adjunto el documento."
    assert len(parse_message(raw).attachments[0].data) == len(big)  # under the default 20 MB


def test_zero_byte_attachment_is_kept() -> None:
    headers = b'Content-Type: application/octet-stream\nContent-Disposition: attachment; filename="vacio.bin"'
    assert parse_message(with_attachment(headers, b"")).attachments == (
        Attachment(filename="vacio.bin", content_type="application/octet-stream", data=b""),
    )


def test_over_long_filename_is_capped_keeping_its_extension() -> None:
    headers = b'Content-Type: application/pdf\nContent-Disposition: attachment; filename="' + b"x" * 5000 + b'.pdf"'
    (attachment,) = parse_message(with_attachment(headers, PDF)).attachments
    assert len(attachment.filename) == 255 and attachment.filename.endswith("x….pdf")


# --- fingerprint ----------------------------------------------------------------------------

ORIGINAL = (
    b"From: Ana <ana@example.org>\n"
    b"To: mesa@example.com, compras@example.com\n"
    b"Date: Tue, 4 Jun 2024 09:30:00 +0200\n"
    b"Subject: Pedido de material\n"
    b"Message-ID: <pedido-42@example.org>\n"
    b"\n"
    b"Necesitamos 3 teclados.\n"
)


def delivered(to: bytes, message: bytes = ORIGINAL) -> bytes:
    return wire(
        b"Return-Path: <ana@example.org>\n"
        b"Delivered-To: " + to + b"\n"
        b"Received: from mx.example.org by imap.example.com for <" + to + b">; Tue, 4 Jun 2024 09:30:02 +0200\n"
        + message
    )


def test_fingerprint_is_equal_for_one_message_delivered_to_two_mailboxes() -> None:
    first = parse_message(delivered(b"mesa@example.com"))
    second = parse_message(delivered(b"compras@example.com"))
    assert first.raw != second.raw
    assert first.fingerprint == second.fingerprint
    assert len(first.fingerprint) == 64 and int(first.fingerprint, 16) >= 0


def test_fingerprint_ignores_line_ending_convention() -> None:
    assert parse_message(wire(ORIGINAL)).fingerprint == parse_message(ORIGINAL).fingerprint


def test_fingerprint_differs_for_a_different_body_reusing_the_message_id() -> None:
    other = ORIGINAL.replace(b"3 teclados", b"3 ratones")
    assert parse_message(delivered(b"mesa@example.com")).fingerprint != parse_message(delivered(b"mesa@example.com", other)).fingerprint


@pytest.mark.parametrize(
    "changed",
    [
        ORIGINAL.replace(b"Subject: Pedido de material", b"Subject: Pedido de material urgente"),
        ORIGINAL.replace(b"09:30:00", b"09:31:00"),
        ORIGINAL.replace(b"Ana <ana@", b"Ana B. <ana@"),
        ORIGINAL.replace(b"Message-ID: <pedido-42@example.org>\n", b""),
    ],
    ids=["subject", "date", "from", "no-message-id"],
)
def test_fingerprint_covers_from_date_subject_and_message_id(changed: bytes) -> None:
    assert parse_message(wire(changed)).fingerprint != parse_message(wire(ORIGINAL)).fingerprint


# --- rejection and robustness ---------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [b"", b"   \r\n\r\n", b"Esto no es un correo, solo texto suelto.\nNi cabeceras ni nada.\n", b"\x89PNG\r\n\x1a\n\x00\x00", b"\nFrom: a@example.org\n"],
    ids=["empty", "blank", "prose", "binary", "body-only"],
)
def test_input_that_is_not_a_mail_raises_parse_error_with_a_reason(raw: bytes) -> None:
    with pytest.raises(ParseError) as caught:
        parse_message(raw)
    assert str(caught.value)


def test_header_block_without_blank_line_still_parses() -> None:
    mail = parse_message(b"From: ana@example.org\nSubject: Sin separador\n")
    assert (mail.from_addr, mail.subject, mail.text) == ("ana@example.org", "Sin separador", "")


def test_mbox_envelope_line_is_skipped() -> None:
    mail = parse_message(b"From ana@example.org Tue Jun  4 09:30:00 2024\nFrom: ana@example.org\nSubject: Hola\n\nx\n")
    assert (mail.from_addr, mail.subject) == ("ana@example.org", "Hola")


def test_broken_mime_structure_degrades_instead_of_failing() -> None:
    raw = wire(
        b"From: ana@example.org\n"
        b"Content-Type: multipart/mixed; boundary=\"nunca-aparece\"\n"
        b"\n"
        b"--otra\n"
        b"Content-Type: text/plain; charset*=\x00utf-8''x\n"
        b"Content-Disposition: attachment; filename*=\x00utf-8''a%C3%B1o.pdf\n"
        b"\n"
        b"contenido\n"
    )
    assert isinstance(parse_message(raw), InboundMail)


SEED_MAILS = [ORIGINAL, HTML_ONLY, with_attachment(b"Content-Type: application/pdf; name=a.pdf", PDF)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(SEED_MAILS),
    st.lists(st.tuples(st.floats(0, 1), st.binary(max_size=6), st.integers(0, 6)), max_size=8),
)
def test_mangled_mails_never_raise_anything_but_parse_error(seed: bytes, edits: list[tuple[float, bytes, int]]) -> None:
    raw = bytearray(seed)
    for where, insert, delete in edits:
        at = int(where * len(raw))
        raw[at : at + delete] = insert
    try:
        mail = parse_message(bytes(raw))
    except ParseError:
        return
    for text in (mail.subject, mail.text, mail.from_name, *(value for _, value in mail.headers)):
        text.encode("utf-8")  # no lone surrogates left over from raw bytes
        assert "\x00" not in text
    assert all(a.filename and "/" not in a.filename for a in mail.attachments)
