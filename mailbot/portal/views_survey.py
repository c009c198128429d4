"""The satisfaction survey's page: a closing mail's link shows the rating with a button; the button records it.

No login: the signed token in the link is the customer's answer (desk/survey.py). Opening the link never records
anything, because mail scanners open every link of a mail before the customer does; only the button's POST (with
the page's CSRF token) does, and only once: the first answer stands. A forged or altered token gets the 400 page.
"""

from __future__ import annotations

import logging

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from sqlalchemy import select

from ..desk import survey
from ..desk.models import Case, utcnow
from .web import page, portal_of, read_form, redirect, visitor

log = logging.getLogger(__name__)


def survey_page(request: Request) -> Response:
    number, rating = _answer(request)
    with portal_of(request).db.read() as session:
        case = _case(session.scalars(select(Case).where(Case.number == number)).one_or_none())
        rated, is_open = case.rating, survey.is_open(case)
    return page(request, visitor(request), "survey", number=number, rating=rating, rated=rated, is_open=is_open,
                token=request.path_params["token"])


async def survey_submit(request: Request) -> Response:
    await read_form(request)  # the CSRF check: the button on our page, not another site's form
    return await run_in_threadpool(_submit, request)


def _submit(request: Request) -> Response:
    number, rating = _answer(request)
    with portal_of(request).db.write() as session:
        case = _case(session.scalars(select(Case).where(Case.number == number).with_for_update(of=Case)).one_or_none())
        if survey.rate(case, rating, utcnow()):
            log.info("portal: satisfaction rating %d recorded on %s", rating, number)
    return redirect(request, "survey", token=request.path_params["token"])


def _answer(request: Request) -> tuple[str, int]:
    """(case number, rating) of the link, or the 400 page for a token this desk did not sign."""
    answer = survey.read_token(portal_of(request).survey_key, request.path_params["token"])
    if answer is None:
        raise HTTPException(400)
    return answer


def _case(case: Case | None) -> Case:
    if case is None:  # a genuine link to a case that is gone (a database restored from before it)
        raise HTTPException(404)
    return case
