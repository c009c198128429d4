"""Unit tests for mailbot.mail.subject: prefix stripping, case numbers, case tags."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailbot.mail.subject import find_case_number, normalize_subject, strip_case_tag

# (input, expected, id)
NORMALIZE_CASES = [
    # Spanish / Outlook chains
    ("RV: RE: Solicitud de acceso", "Solicitud de acceso", "rv-re-chain"),
    ("RES: ENC: Informe mensual", "Informe mensual", "res-enc-chain"),
    ("Reenviado: Factura 2024-03", "Factura 2024-03", "reenviado"),
    ("Reenviar: Factura", "Factura", "reenviar"),
    ("Respuesta: Alta de usuario", "Alta de usuario", "respuesta"),
    ("Responder: Alta de usuario", "Alta de usuario", "responder"),
    ("RE[2]: Error al iniciar sesión", "Error al iniciar sesión", "counter-brackets"),
    ("Re(3): Error al iniciar sesión", "Error al iniciar sesión", "counter-parens"),
    ("Re^2: Error al iniciar sesión", "Error al iniciar sesión", "counter-caret"),
    ("RE [2] : Error", "Error", "counter-with-spaces"),
    ("Re:Re: Clave bloqueada", "Clave bloqueada", "re-re-no-space"),
    ("RE:RE:RE: Clave bloqueada", "Clave bloqueada", "re-re-re-no-space"),
    ("RE: RV: Fwd: Clave bloqueada", "Clave bloqueada", "re-rv-fwd"),
    ("RE : Clave bloqueada", "Clave bloqueada", "space-before-colon"),
    ("re: rv: fwd: clave", "clave", "lower-case-chain"),
    ("[2] RE: Clave bloqueada", "Clave bloqueada", "bare-counter-before-prefix"),
    ("[2][3] RE: [4] FW: Clave", "Clave", "several-bare-counters"),
    ("No reply: Aviso de mantenimiento", "Aviso de mantenimiento", "no-reply"),
    ("Noreply: Aviso", "Aviso", "noreply"),
    ("No-reply: Aviso", "Aviso", "no-hyphen-reply"),
    ("Forward: Manual de usuario", "Manual de usuario", "forward"),
    ("FW: Manual", "Manual", "fw"),
    ("FWD: Manual", "Manual", "fwd-upper"),
    # other languages
    ("AW: WG: Zugang gesperrt", "Zugang gesperrt", "aw-wg-german"),
    ("Antwort: Zugang", "Zugang", "antwort-german"),
    ("Antw: Toegang", "Toegang", "antw-dutch"),
    ("SV: VS: Tilgang", "Tilgang", "sv-vs-nordic"),
    ("TR: Accès refusé", "Accès refusé", "tr-french"),
    ("R: Accesso negato", "Accesso negato", "r-italian"),
    ("I: Accesso negato", "Accesso negato", "i-italian"),
    ("RIF: Accesso negato", "Accesso negato", "rif-italian"),
    ("Odp: Brak dostępu", "Brak dostępu", "odp-polish"),
    ("PD: adjunto el RUT", "PD: adjunto el RUT", "pd-is-spanish-posdata-kept"),
    ("YNT: Erişim yok", "Erişim yok", "ynt-turkish"),
    ("Ynt: Erişim yok", "Erişim yok", "ynt-turkish-mixed-case"),
    # whitespace and full-width colon
    ("RE: Problema\r\n con el\ttoken", "Problema con el token", "folded-crlf"),
    ("  \r\n\tRE:   RV:\r\n   Solicitud  ", "Solicitud", "folded-prefix-chain"),
    ("   RE: Solicitud", "Solicitud", "outlook-leading-spaces"),
    ("RE：Solicitud", "Solicitud", "fullwidth-colon"),
    ("RE： RV： Solicitud", "Solicitud", "fullwidth-colon-chain"),
    # case tags are kept
    ("Re: [CS0000001] Problema", "[CS0000001] Problema", "re-keeps-case-tag"),
    ("Fwd: Re: [CS0000001] Problema", "[CS0000001] Problema", "fwd-re-keeps-case-tag"),
    ("[CS0000001] RE: Problema", "[CS0000001] RE: Problema", "tag-first-kept-whole"),
    # look-alikes that must be kept
    ("Reembolso de pago", "Reembolso de pago", "keep-reembolso"),
    ("Revisión del certificado", "Revisión del certificado", "keep-revision"),
    ("Forwarding rules", "Forwarding rules", "keep-forwarding-rules"),
    ("Re-emisión del token", "Re-emisión del token", "keep-re-emision"),
    ("Recibo de pago", "Recibo de pago", "keep-recibo"),
    ("Encuesta de satisfacción", "Encuesta de satisfacción", "keep-encuesta"),
    ("Trámite pendiente", "Trámite pendiente", "keep-tramite"),
    ("Avance del proyecto", "Avance del proyecto", "keep-avance"),
    ("FWD sin dos puntos", "FWD sin dos puntos", "keep-fwd-without-colon"),
    ("Respuesta pendiente del banco", "Respuesta pendiente del banco", "keep-respuesta-no-colon"),
    ("Resolución 123: anexo", "Resolución 123: anexo", "keep-resolucion"),
    ("R : Accesso", "R : Accesso", "keep-short-prefix-with-space"),
    ("I[2]: Accesso", "I[2]: Accesso", "keep-short-prefix-with-counter"),
    ("[2] Solicitud", "[2] Solicitud", "keep-bare-counter-without-prefix"),
    ("Solicitud RE: cambio", "Solicitud RE: cambio", "keep-prefix-not-at-start"),
    # edge cases
    ("", "", "empty"),
    ("RE:", "", "prefix-only"),
    ("RE: FW: ", "", "prefix-chain-only"),
    ("   ", "", "blank"),
    ("\r\n\t", "", "whitespace-only"),
]


@pytest.mark.parametrize(
    ("subject", "expected"),
    [pytest.param(subject, expected, id=case_id) for subject, expected, case_id in NORMALIZE_CASES],
)
def test_normalize_subject_strips_reply_prefixes_and_keeps_the_rest(subject: str, expected: str) -> None:
    assert normalize_subject(subject) == expected


# (subject, prefix, expected, id)
FIND_CASE_CASES = [
    ("[CS0053363] Problema con token", "CS", "CS0053363", "bracketed"),
    ("RE: (CS0053363) Problema", "CS", "CS0053363", "parenthesised"),
    ("Caso CS0053363: sin respuesta", "CS", "CS0053363", "followed-by-colon"),
    ("consulta cs0053363", "CS", "CS0053363", "lower-case-input"),
    ("consulta CS0053363", "cs", "CS0053363", "lower-case-prefix-argument"),
    ("CS0000001 y CS0000002", "CS", "CS0000001", "first-of-two"),
    ("XCS0000001 y [CS0000002]", "CS", "CS0000002", "skips-embedded-then-finds"),
    ("Ticket [MA0001234]", "MA", "MA0001234", "custom-prefix"),
    ("Ticket [CS0001234]", "MA", None, "custom-prefix-ignores-other"),
    ("XCS0000001", "CS", None, "part-of-longer-word"),
    ("CS00000012", "CS", None, "eight-digits"),
    ("CS000001", "CS", None, "six-digits"),
    ("1CS0000001", "CS", None, "preceded-by-digit"),
    ("CS0000001abc", "CS", None, "followed-by-letters"),
    ("CS 0000001", "CS", None, "space-inside"),
    ("Sin número de caso", "CS", None, "no-number"),
    ("", "CS", None, "empty"),
]


@pytest.mark.parametrize(
    ("subject", "prefix", "expected"),
    [pytest.param(s, p, e, id=case_id) for s, p, e, case_id in FIND_CASE_CASES],
)
def test_find_case_number_returns_first_whole_token_upper_case(
    subject: str, prefix: str, expected: str | None
) -> None:
    assert find_case_number(subject, prefix) == expected


def test_find_case_number_defaults_to_cs_prefix() -> None:
    assert find_case_number("RE: [CS1234567] x") == "CS1234567"


def test_find_case_number_rejects_empty_prefix() -> None:
    with pytest.raises(ValueError):
        find_case_number("[CS0000001]", "")


# (subject, number, expected, id)
STRIP_TAG_CASES = [
    ("[CS0000001] Problema con token", "CS0000001", "Problema con token", "leading"),
    ("Problema con token [CS0000001]", "CS0000001", "Problema con token", "trailing"),
    ("Problema [CS0000001] con token", "CS0000001", "Problema con token", "middle"),
    ("Problema\r\n [CS0000001]\tcon token", "CS0000001", "Problema con token", "folded"),
    ("[cs0000001] Problema", "CS0000001", "Problema", "case-insensitive"),
    ("[CS0000001] x [CS0000001]", "CS0000001", "x", "every-occurrence"),
    ("[CS0000002] Problema", "CS0000001", "[CS0000002] Problema", "other-number-kept"),
    ("CS0000001 Problema", "CS0000001", "CS0000001 Problema", "unbracketed-kept"),
    ("[CS0000001]", "CS0000001", "", "tag-only"),
]


@pytest.mark.parametrize(
    ("subject", "number", "expected"),
    [pytest.param(s, n, e, id=case_id) for s, n, e, case_id in STRIP_TAG_CASES],
)
def test_strip_case_tag_removes_bracketed_number_and_surrounding_space(
    subject: str, number: str, expected: str
) -> None:
    assert strip_case_tag(subject, number) == expected


def test_strip_case_tag_rejects_empty_number() -> None:
    with pytest.raises(ValueError):
        strip_case_tag("[] x", "")


def test_desk_computes_case_subject_from_reply() -> None:
    subject = "RE: RV: [CS0000001] Problema con token"
    number = find_case_number(subject)
    assert number == "CS0000001"
    assert strip_case_tag(normalize_subject(subject), number) == "Problema con token"


# --- properties -------------------------------------------------------------

KNOWN_PREFIXES = [
    "RE:", "Re:", "RE :", "RE[2]:", "Re(3):", "Re^2:", "RE：", "[2] RE:",
    "RV:", "FW:", "FWD:", "Fwd:", "TR:", "AW:", "WG:", "SV:", "VS:",
    "RES:", "ENC:", "R:", "I:", "Antw:", "Antwort:", "Forward:",
    "Reenviado:", "Reenviar:", "Respuesta:", "Responder:",
    "No reply:", "Noreply:", "No-reply:", "RIF:", "Odp:", "YNT:",
]

SEPARATORS = ["", " ", "  ", "\t", "\r\n "]


@st.composite
def random_case_prefix(draw: st.DrawFn) -> str:
    prefix = draw(st.sampled_from(KNOWN_PREFIXES))
    upper = draw(st.lists(st.booleans(), min_size=len(prefix), max_size=len(prefix)))
    return "".join(c.upper() if u else c.lower() for c, u in zip(prefix, upper))


prefix_chains = st.lists(
    st.tuples(random_case_prefix(), st.sampled_from(SEPARATORS)), min_size=1, max_size=6
)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_normalize_subject_is_idempotent(subject: str) -> None:
    once = normalize_subject(subject)
    assert normalize_subject(once) == once


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_normalize_subject_never_lengthens(subject: str) -> None:
    assert len(normalize_subject(subject)) <= len(subject)


@settings(max_examples=300, deadline=None)
@given(st.text(), prefix_chains, st.sampled_from(SEPARATORS))
def test_prefix_chain_on_normalised_subject_normalises_back(
    text: str, chain: list[tuple[str, str]], leading: str
) -> None:
    subject = normalize_subject(text)
    prefixed = leading + "".join(prefix + sep for prefix, sep in chain) + subject
    assert normalize_subject(prefixed) == subject
