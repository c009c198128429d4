"""Write the bounce samples beside this script: python tests/data/bounces/make_samples.py

Each sample copies the shape of one mail server's bounce (Postfix, Exim, qmail, Gmail, Exchange Online, an old
Exchange NDR without a DSN part) or a read receipt, and quotes an outbound desk mail whose Message-ID is
<0123456789abcdef0123456789abcdNN@desk.example.com>, NN being the sample's number.  Only example.com/.org/.net
names and TEST-NET addresses (RFC 5737) appear.  The files are written with LF line endings, as a maildir keeps them.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent


def original_id(number: int) -> str:
    return f"<0123456789abcdef0123456789abcd{number:02d}@desk.example.com>"


def original_headers(number: int, to: str, subject: str) -> str:
    """Headers of the desk's outbound mail as the bouncing server received it."""
    return f"""Return-Path: <mesadeayuda@example.com>
Received: from desk.example.com (desk.example.com [192.0.2.10])
	by mail.example.com (Postfix) with ESMTPS id 4Xyz0{number}
	for <{to}>; Mon, 23 Nov 2026 10:15:03 -0500 (-05)
From: Mesa de ayuda <mesadeayuda@example.com>
To: {to}
Subject: {subject}
Date: Mon, 23 Nov 2026 10:15:02 -0500
Message-ID: {original_id(number)}
In-Reply-To: <CAF{number:02d}xq@mail.example.org>
References: <CAF{number:02d}xq@mail.example.org>
Auto-Submitted: auto-replied
X-Mailbot-Case: CS000000{number}
MIME-Version: 1.0
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: 8bit
"""


ORIGINAL_BODY = """Buenos días,

Su caso fue registrado con prioridad 3 - Moderada.

Mesa de ayuda
"""

SAMPLES: dict[str, str] = {}

SAMPLES["postfix-user-unknown.eml"] = f"""Return-Path: <>
Received: by mail.example.com (Postfix)
	id 4XyzB01; Mon, 23 Nov 2026 10:15:05 -0500 (-05)
Date: Mon, 23 Nov 2026 10:15:05 -0500 (-05)
From: MAILER-DAEMON@mail.example.com (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: mesadeayuda@example.com
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="4XyzB01.1795446905/mail.example.com"
Content-Transfer-Encoding: 8bit
Message-Id: <20261123151505.4XyzB01@mail.example.com>

This is a MIME-encapsulated message.

--4XyzB01.1795446905/mail.example.com
Content-Description: Notification
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

This is the mail system at host mail.example.com.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

For further assistance, please send mail to postmaster.

If you do so, please include this problem report. You can
delete your own text from the attached returned message.

                   The mail system

<marta.ruiz@example.org>: host mx.example.org[192.0.2.25] said: 550 5.1.1
    <marta.ruiz@example.org>: Recipient address rejected: User unknown in
    virtual mailbox table (in reply to RCPT TO command)

--4XyzB01.1795446905/mail.example.com
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.example.com
X-Postfix-Queue-ID: 4XyzB01
X-Postfix-Sender: rfc822; mesadeayuda@example.com
Arrival-Date: Mon, 23 Nov 2026 10:15:03 -0500 (-05)

Final-Recipient: rfc822; marta.ruiz@example.org
Original-Recipient: rfc822;marta.ruiz@example.org
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.example.org
Diagnostic-Code: smtp; 550 5.1.1 <marta.ruiz@example.org>: Recipient address
    rejected: User unknown in virtual mailbox table

--4XyzB01.1795446905/mail.example.com
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers
Content-Transfer-Encoding: 8bit

{original_headers(1, "marta.ruiz@example.org", "[CS0000001] No puedo firmar en Adobe Reader con el token")}
--4XyzB01.1795446905/mail.example.com--
"""

SAMPLES["postfix-delayed.eml"] = f"""Return-Path: <>
Received: by mail.example.com (Postfix)
	id 4XyzD02; Mon, 23 Nov 2026 14:15:09 -0500 (-05)
Date: Mon, 23 Nov 2026 14:15:09 -0500 (-05)
From: MAILER-DAEMON@mail.example.com (Mail Delivery System)
Subject: Delayed Mail (still being retried)
To: mesadeayuda@example.com
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="4XyzD02.1795461309/mail.example.com"
Content-Transfer-Encoding: 8bit
Message-Id: <20261123191509.4XyzD02@mail.example.com>

This is a MIME-encapsulated message.

--4XyzD02.1795461309/mail.example.com
Content-Description: Notification
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

This is the mail system at host mail.example.com.

####################################################################
# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #
####################################################################

Your message could not be delivered for more than 4 hour(s).
It will be retried until it is 5 day(s) old.

For further assistance, please send mail to postmaster.

                   The mail system

<jorge.perez@example.org>: connect to mx.example.org[192.0.2.26]:25: Connection
    timed out

--4XyzD02.1795461309/mail.example.com
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.example.com
X-Postfix-Queue-ID: 4XyzD02
X-Postfix-Sender: rfc822; mesadeayuda@example.com
Arrival-Date: Mon, 23 Nov 2026 10:15:03 -0500 (-05)

Final-Recipient: rfc822; jorge.perez@example.org
Original-Recipient: rfc822;jorge.perez@example.org
Action: delayed
Status: 4.4.1
Diagnostic-Code: X-Postfix; connect to mx.example.org[192.0.2.26]:25: Connection
    timed out
Will-Retry-Until: Sat, 28 Nov 2026 10:15:03 -0500 (-05)

--4XyzD02.1795461309/mail.example.com
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers
Content-Transfer-Encoding: 8bit

{original_headers(2, "jorge.perez@example.org", "[CS0000002] Clave temporal")}
--4XyzD02.1795461309/mail.example.com--
"""

SAMPLES["exim-failed.eml"] = f"""Return-path: <>
Envelope-to: mesadeayuda@example.com
Delivery-date: Mon, 23 Nov 2026 15:15:06 +0000
Received: from Debian-exim by mail.example.net with local (Exim 4.96)
	id 1tK3x2-000Abc-1Q
	for mesadeayuda@example.com;
	Mon, 23 Nov 2026 15:15:06 +0000
X-Failed-Recipients: pedro.diaz@example.net
Auto-Submitted: auto-replied
From: Mail Delivery System <Mailer-Daemon@mail.example.net>
To: mesadeayuda@example.com
References: {original_id(3)}
Content-Type: text/plain; charset=us-ascii
Subject: Mail delivery failed: returning message to sender
Message-Id: <E1tK3x2-000Abc-1Q@mail.example.net>
Date: Mon, 23 Nov 2026 15:15:06 +0000

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  pedro.diaz@example.net
    host mx.example.net [192.0.2.30]
    SMTP error from remote mail server after RCPT TO:<pedro.diaz@example.net>:
    550 5.1.1 <pedro.diaz@example.net>: Recipient address rejected: User unknown

------ This is a copy of the message, including all the headers. ------

{original_headers(3, "pedro.diaz@example.net", "[CS0000003] Foto del dispositivo")}
{ORIGINAL_BODY}"""

SAMPLES["qmail-remote-rejected.eml"] = f"""Return-Path: <>
Received: (qmail 23145 invoked for bounce); 23 Nov 2026 15:15:07 -0000
Date: 23 Nov 2026 15:15:07 -0000
From: MAILER-DAEMON@mail.example.net
To: mesadeayuda@example.com
Subject: failure notice

Hi. This is the qmail-send program at mail.example.net.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<ana.torres@example.net>:
192.0.2.40 does not like recipient.
Remote host said: 550 5.1.1 <ana.torres@example.net>... User unknown
Giving up on 192.0.2.40.

--- Below this line is a copy of the message.

{original_headers(7, "ana.torres@example.net", "[CS0000007] Configuración de firma")}
{ORIGINAL_BODY}"""

SAMPLES["gmail-address-not-found.eml"] = f"""Return-Path: <>
Received: by mail.example.net with SMTP id a1b2c3;
        Mon, 23 Nov 2026 07:15:06 -0800 (PST)
From: Mail Delivery Subsystem <mailer-daemon@googlemail.example.net>
To: mesadeayuda@example.com
Auto-Submitted: auto-replied
Message-ID: <6740f1ea.a1b2c3.0004.GMR@mx.example.net>
Date: Mon, 23 Nov 2026 07:15:06 -0800 (PST)
Subject: Delivery Status Notification (Failure)
X-Failed-Recipients: carlos.vega@example.net
MIME-Version: 1.0
Content-Type: multipart/report; boundary="000000000000f0e1d2c3b4a59687"; report-type=delivery-status

--000000000000f0e1d2c3b4a59687
Content-Type: multipart/alternative; boundary="000000000000f0e1d2c3b4a59688"

--000000000000f0e1d2c3b4a59688
Content-Type: text/plain; charset="UTF-8"


** Address not found **

Your message wasn't delivered to carlos.vega@example.net because the address couldn't be found, or is unable to receive mail.

Learn more here: https://support.example.net/mail/?p=NoSuchUser

The response was:

The email account that you tried to reach does not exist. Please try double-checking the recipient's email address for typos or unnecessary spaces. For more information, go to https://support.example.net/mail/?p=NoSuchUser

--000000000000f0e1d2c3b4a59688
Content-Type: text/html; charset="UTF-8"

<html><body><h1>Address not found</h1><p>Your message wasn't delivered to <b>carlos.vega@example.net</b> because the address couldn't be found, or is unable to receive mail.</p></body></html>

--000000000000f0e1d2c3b4a59688--

--000000000000f0e1d2c3b4a59687
Content-Type: message/delivery-status

Reporting-MTA: dns; googlemail.example.net
Received-From-MTA: dns; mesadeayuda@example.com
Arrival-Date: Mon, 23 Nov 2026 07:15:03 -0800 (PST)
X-Original-Message-ID: {original_id(4)}

Final-Recipient: rfc822; carlos.vega@example.net
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.example.net. (192.0.2.50, the server for the domain example.net.)
Diagnostic-Code: smtp; 550-5.1.1 The email account that you tried to reach does not exist. Please try
 550-5.1.1 double-checking the recipient's email address for typos or
 550-5.1.1 unnecessary spaces. For more information, go to
 550 5.1.1  https://support.example.net/mail/?p=NoSuchUser a1b2c3 - gsmtp
Last-Attempt-Date: Mon, 23 Nov 2026 07:15:06 -0800 (PST)

--000000000000f0e1d2c3b4a59687
Content-Type: message/rfc822

{original_headers(4, "carlos.vega@example.net", "[CS0000004] Certificado vencido")}
{ORIGINAL_BODY}
--000000000000f0e1d2c3b4a59687--
"""

SAMPLES["exchange-online-dsn.eml"] = f"""Return-Path: <>
From: Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@example.net>
To: <mesadeayuda@example.com>
Date: Mon, 23 Nov 2026 15:15:08 +0000
Content-Type: multipart/report; report-type=delivery-status;
	boundary="fd4a1b2c-3d4e-5f60-7182-93a4b5c6d7e8"
X-MS-Exchange-Message-Is-Ndr:
Content-Language: en-US
Message-ID: <e2b1f0c8-aaaa-4bbb-8ccc-0123456789ab@AM0PR01MB1234.eurprd01.prod.example.net>
In-Reply-To: {original_id(5)}
References: {original_id(5)}
Subject: Undeliverable: [CS0000005] Token bloqueado
Auto-Submitted: auto-replied
MIME-Version: 1.0

--fd4a1b2c-3d4e-5f60-7182-93a4b5c6d7e8
Content-Type: multipart/alternative; differences=Content-Type;
	boundary="0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"

--0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9
Content-Type: text/plain; charset="us-ascii"
Content-Transfer-Encoding: quoted-printable

Your message to luisa.gomez@example.net couldn't be delivered.

luisa.gomez wasn't found at example.net.

mesadeayuda    Office 365    luisa.gomez
Action Required                     Recipient

Unknown To address

How to Fix It
The address may be misspelled or may not exist. Try one or more of the fol=
lowing:

Diagnostic information for administrators:

Generating server: AM0PR01MB1234.eurprd01.prod.example.net

luisa.gomez@example.net
Remote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipien=
t not found by SMTP address lookup'

--0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9
Content-Type: text/html; charset="us-ascii"

<html><body><p>Your message to luisa.gomez@example.net couldn't be delivered.</p></body></html>

--0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9--

--fd4a1b2c-3d4e-5f60-7182-93a4b5c6d7e8
Content-Type: message/delivery-status

Reporting-MTA: dns;AM0PR01MB1234.eurprd01.prod.example.net
Received-From-MTA: dns;mail.example.com
Arrival-Date: Mon, 23 Nov 2026 15:15:07 +0000

Original-Recipient: rfc822;luisa.gomez@example.net
Final-Recipient: rfc822;luisa.gomez@example.net
Action: failed
Status: 5.1.10
Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup

--fd4a1b2c-3d4e-5f60-7182-93a4b5c6d7e8
Content-Type: text/rfc822-headers

{original_headers(5, "luisa.gomez@example.net", "[CS0000005] Token bloqueado")}
--fd4a1b2c-3d4e-5f60-7182-93a4b5c6d7e8--
"""

SAMPLES["exchange-legacy-no-dsn.eml"] = f"""Return-Path: <>
From: System Administrator <postmaster@example.net>
To: Mesa de ayuda <mesadeayuda@example.com>
Subject: Undeliverable: [CS0000006] Clave temporal
Date: Mon, 23 Nov 2026 10:15:09 -0500
Message-ID: <A1B2C3D4E5F60718293A4B5C6D7E8F90@EXCH01.example.net>
MIME-Version: 1.0
Content-Type: multipart/mixed;
	boundary="----_=_NextPart_001_01DB3D7A.6E2F1C40"

This is a multi-part message in MIME format.

------_=_NextPart_001_01DB3D7A.6E2F1C40
Content-Type: text/plain; charset="iso-8859-1"
Content-Transfer-Encoding: quoted-printable

Your message

  To:      sofia.rojas@example.net
  Subject: [CS0000006] Clave temporal
  Sent:    11/23/2026 10:15 AM

did not reach the following recipient(s):

sofia.rojas@example.net on 11/23/2026 10:15 AM
            The e-mail account does not exist at the organization this =
message was sent to.  Check the e-mail address, or contact the recipient =
directly to find out the correct address.
            <EXCH01.example.net #5.1.1 SMTP; 550 5.1.1 User unknown>

------_=_NextPart_001_01DB3D7A.6E2F1C40
Content-Type: message/rfc822

{original_headers(6, "sofia.rojas@example.net", "[CS0000006] Clave temporal")}
{ORIGINAL_BODY}
------_=_NextPart_001_01DB3D7A.6E2F1C40--
"""

SAMPLES["mdn-read-receipt.eml"] = f"""Return-Path: <marta.ruiz@example.org>
From: Marta Ruiz <marta.ruiz@example.org>
To: Mesa de ayuda <mesadeayuda@example.com>
Subject: Leído: [CS0000008] Solicitud recibida
Date: Mon, 23 Nov 2026 10:20:00 -0500
Message-ID: <MDN08.20261123@mail.example.org>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=disposition-notification;
	boundary="----=_NextPart_MDN08"

------=_NextPart_MDN08
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: 8bit

Su mensaje

  Para: Marta Ruiz
  Asunto: [CS0000008] Solicitud recibida
  Enviado: lunes, 23 de noviembre de 2026 10:15:02 a. m. (UTC-05:00)

fue leído el lunes, 23 de noviembre de 2026 10:20:00 a. m. (UTC-05:00).

------=_NextPart_MDN08
Content-Type: message/disposition-notification

Reporting-UA: mail.example.org; Microsoft Outlook 16.0
Final-Recipient: rfc822;marta.ruiz@example.org
Original-Message-ID: {original_id(8)}
Disposition: manual-action/MDN-sent-manually; displayed

------=_NextPart_MDN08--
"""


def main() -> None:
    for name, text in SAMPLES.items():
        (HERE / name).write_text(text, encoding="utf-8", newline="\n")


if __name__ == "__main__":
    main()
