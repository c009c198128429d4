"""The pages about cases: "ver mis casos", one case with its history and files, a reply, a new request."""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from ..desk import submissions
from ..desk.models import Case, State, utcnow
from ..desk.storage import blob_path
from . import queries
from .forms import MAX_FILES, MAX_PHONE, MAX_SHORT, Submitted, check_reply, check_request
from .queries import Scope
from .web import page, portal_of, read_form, redirect, signed_in

log = logging.getLogger(__name__)
# ?state=in_progress rather than the stored Spanish value, so links read the same in both languages.
STATES = {state.name.lower(): state for state in State}


def cases_page(request: Request) -> Response:
    portal = portal_of(request)
    state = STATES.get(request.query_params.get("state", ""))
    number = request.query_params.get("page", "1")
    page_number = int(number) if number.isdigit() and 0 < int(number) < 10_000 else 1
    with portal.db.read() as session:
        seen = signed_in(request, session, utcnow())
        assert seen.contact is not None
        cases, more = queries.list_cases(session, Scope.of(portal.config, seen.contact), state, page_number)
    return page(request, seen, "cases", cases=cases, more=more, page_number=page_number, states=STATES,
                state=state, queue_names=_queue_names(request))


def case_page(request: Request) -> Response:
    return _case_page(request)


async def reply(request: Request) -> Response:
    form = await read_form(request, files=True)
    return await run_in_threadpool(_reply, request, form)


def _reply(request: Request, form: Submitted) -> Response:
    portal = portal_of(request)
    text, errors = check_reply(portal.pages.words, form, portal.config)
    if errors:
        return _case_page(request, 400, errors=errors, text=text)
    with portal.db.write() as session:
        seen = signed_in(request, session, utcnow())
        assert seen.contact is not None
        case = _found(queries.find_case(session, Scope.of(portal.config, seen.contact),
                                        request.path_params["number"]))
        verdict = submissions.reply(session, portal.config, seen.contact, case, text, form.uploads)
    log.info("portal: contact %d replied on %s", seen.contact.id, verdict.case_number)
    return redirect(request, "case", {"notice": "reply_sent"}, number=verdict.case_number or case.number)


def attachment(request: Request) -> Response:
    portal = portal_of(request)
    with portal.db.read() as session:
        seen = signed_in(request, session, utcnow())
        assert seen.contact is not None
        found = queries.find_attachment(session, Scope.of(portal.config, seen.contact), request.path_params["number"],
                                        request.path_params["attachment"])
    if found is None:
        raise HTTPException(404)
    path = blob_path(portal.config.storage_path, "attachments", found.sha256)
    if not path.is_file():
        log.error("portal: attachment %d is missing from storage (%s)", found.id, path)
        raise HTTPException(404)
    # Always a download, never rendered here: a customer's HTML file must not run as this site (with nosniff and
    # the CSP sandbox the security headers add).
    return FileResponse(path, media_type=found.content_type or "application/octet-stream", filename=found.filename,
                        content_disposition_type="attachment")


def new_page(request: Request) -> Response:
    with portal_of(request).db.read() as session:
        seen = signed_in(request, session, utcnow())
    return page(request, seen, "new", **_new_context(request, {}, {}))


async def new_request(request: Request) -> Response:
    form = await read_form(request, files=True)
    return await run_in_threadpool(_new_request, request, form)


def _new_request(request: Request, form: Submitted) -> Response:
    portal = portal_of(request)
    wanted, errors = check_request(portal.pages.words, form, portal.config)
    with portal.db.read() as session:
        seen = signed_in(request, session, utcnow())
    if errors:
        return page(request, seen, "new", 400, **_new_context(request, asdict(wanted), errors))
    with portal.db.write() as session:
        seen = signed_in(request, session, utcnow())
        assert seen.contact is not None
        verdict = submissions.open_request(session, portal.config, seen.contact, wanted, form.uploads)
    log.info("portal: contact %d opened %s", seen.contact.id, verdict.case_number)
    return redirect(request, "case", {"notice": "request_sent"}, number=verdict.case_number)


def stylesheet(request: Request) -> Response:
    return FileResponse(portal_of(request).pages.stylesheet, media_type="text/css",
                        headers={"Cache-Control": "public, max-age=3600"})


def site_stylesheet(request: Request) -> Response:
    custom = portal_of(request).config.portal.stylesheet
    if custom is None:
        raise HTTPException(404)
    return FileResponse(custom, media_type="text/css", headers={"Cache-Control": "public, max-age=3600"})


def _case_page(request: Request, status: int = 200, errors: dict[str, str] | None = None,
               text: str = "") -> Response:
    portal = portal_of(request)
    with portal.db.read() as session:
        seen = signed_in(request, session, utcnow())
        assert seen.contact is not None
        case = _found(queries.find_case(session, Scope.of(portal.config, seen.contact), request.path_params["number"]))
        entries = queries.shown_entries(session, case)
        details = queries.request_of(session, case)
    closed_note = None
    if case.state is State.CLOSED:
        closed_note = "reply_closed_reopen" if portal.config.desk.reopen_closed else "reply_closed_new"
    return page(request, seen, "case", status, case=case, entries=entries, details=details, errors=errors or {},
                text=text, closed_note=closed_note, queue_names=_queue_names(request), **_file_limits(request))


def _found(case: Case | None) -> Case:
    """The case, or 404: a case out of scope and a case that does not exist look the same."""
    if case is None:
        raise HTTPException(404)
    return case


def _new_context(request: Request, values: dict[str, str], errors: dict[str, str]) -> dict[str, Any]:
    queues = portal_of(request).config.queues
    return {"queues": [(queue.key, queue.name) for queue in queues], "values": values, "errors": errors,
            "max_short": MAX_SHORT, "max_phone": MAX_PHONE, **_file_limits(request)}


def _file_limits(request: Request) -> dict[str, Any]:
    return {"max_files": MAX_FILES, "max_file_size": portal_of(request).config.limits.max_attachment_size}


def _queue_names(request: Request) -> dict[str, str]:
    return {queue.key: queue.name for queue in portal_of(request).config.queues}
