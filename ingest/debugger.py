"""The postback debugger (SPEC 5, "Debugging tools"): how a pasted inbound URL would be processed.

The URL is parsed, never requested: its host is ignored and its path must be one of the
inbound endpoints. A request for that path, its parameters and body is built and handed to
the endpoint's own view (through `ingest.middleware`, as a real request is) inside a
transaction that is then rolled back. What the page shows is what the endpoint does, row for
row: the answer, the lead and its events as they stand inside the transaction, the deliveries
written with them and the inbound log row. `config.trace` records what the rows do not say
(which goal alias or status word matched, what the postback named) and, while it records,
keeps everything outside the transaction untouched: the hot cache stores nothing, screening
counters are read, not moved, and a failure of ours is not kept for replay. Broker wake-ups
are `on_commit` callbacks, which the rollback discards.

A token of another organization is run as an unknown token: the answer is the endpoint's own
401 and nothing of the other organization is shown. Ids given at creation (a new lead's, a
new click's) are the dry run's own: the real request takes the next free ones.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.test.client import RequestFactory
from django.urls import ResolverMatch, resolve
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from config import trace
from config.money import money_text
from ingest.log import mask_secret
from ingest.middleware import ENDPOINTS, INGESTION_PATHS, IngestionErrorsMiddleware, not_found_response
from ingest.models import InboundPostback
from ingest.params import BadParameters, request_params
from ingest.selectors import token_organization_id
from leads.models import WITHHOLDING_VERDICTS, Lead, LeadEvent, LeadStatus, Verdict
from partners.models import Partner
from postbacks.models import Delivery

Endpoint = InboundPostback.Endpoint
Outcome = InboundPostback.Outcome

METHODS = ("GET", "POST")
MAX_URL_LENGTH = 8000
MAX_BODY_LENGTH = 64 * 1024
USER_AGENT = "Partnerdesk postback debugger"
# What a token of another organization is replaced with: no token is ever this (they are random).
UNKNOWN_TOKEN = "unknown-token"
LEAD_ENDPOINTS = frozenset({Endpoint.LEAD, Endpoint.STATUS, Endpoint.CONVERSION})
NOTHING_WRITTEN = gettext_lazy(
    "Nothing: the transaction was rolled back; no cache, counter or broker was touched."
)
NO_CAPS = gettext_lazy("None apply: this version has no conversion caps, so nothing is held back by one.")
# The steps' titles as the admin page shows them; the English name is the step's key (the API's "step").
STEP_TITLES = {
    "Endpoint": gettext_lazy("Endpoint"),
    "Parameters": gettext_lazy("Parameters"),
    "Token and scope": gettext_lazy("Token and scope"),
    "Target": gettext_lazy("Target"),
    "Key": gettext_lazy("Key"),
    "Lead": gettext_lazy("Lead"),
    "Goal": gettext_lazy("Goal"),
    "Status": gettext_lazy("Status"),
    "Money": gettext_lazy("Money"),
    "Screening": gettext_lazy("Screening"),
    "Caps": gettext_lazy("Caps"),
    "Answer": gettext_lazy("Answer"),
    "Deliveries": gettext_lazy("Deliveries"),
    "Inbound log": gettext_lazy("Inbound log"),
    "Written": gettext_lazy("Written"),
}


class DebugRefused(ValueError):
    """A pasted URL (or method) the debugger does not run; the message says what to paste instead."""


@dataclass(frozen=True)
class Step:
    """One line of the explanation: what was looked at, and what the endpoint made of it."""

    name: str
    result: str

    @property
    def title(self) -> str:
        return str(STEP_TITLES[self.name])


@dataclass
class Debugged:
    """How one inbound request would be processed, read inside the rolled-back transaction."""

    method: str
    path: str
    endpoint: str
    status_code: int
    answer: Any
    location: str = ""
    steps: list[Step] = field(default_factory=list)
    lead: dict[str, Any] | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    inbound: dict[str, Any] | None = None

    @property
    def answer_text(self) -> str:
        if self.answer is None:
            return _("Location: %(location)s") % {"location": self.location} if self.location else ""
        return json.dumps(self.answer, indent=2, ensure_ascii=False)

    def as_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "endpoint": self.endpoint,
            "status_code": self.status_code,
            "answer": self.answer,
            "location": self.location,
            "steps": [{"step": step.name, "result": step.result} for step in self.steps],
            "lead": self.lead,
            "events": self.events,
            "deliveries": self.deliveries,
            "inbound": self.inbound,
            "written": False,
        }


# -- the pasted request -----------------------------------------------------------------------


def inbound_path(url: str) -> tuple[str, str]:
    """The endpoint path and query string of a pasted URL; refused unless it is an inbound endpoint."""
    url = url.strip()
    if not url:
        raise DebugRefused(
            _("Paste the URL a partner would call, e.g. https://…/postback/lead?token=…&click=….")
        )
    if len(url) > MAX_URL_LENGTH:
        raise DebugRefused(
            _("The URL is longer than %(max)s characters: shorten it or POST a body.")
            % {"max": MAX_URL_LENGTH}
        )
    parts = urlsplit(url if "://" in url or url.startswith("/") else f"https://{url}")
    if parts.scheme not in ("", "http", "https"):
        raise DebugRefused(
            _("“%(scheme)s:” is not a web address: paste an http(s) URL or just its path.")
            % {"scheme": parts.scheme}
        )
    if parts.path in ("", "/") and not parts.query:
        raise DebugRefused(
            _(
                "That is not a postback URL: paste the whole URL a partner would call, "
                "e.g. https://…/postback/lead?token=…&click=…."
            )
        )
    if parts.path not in INGESTION_PATHS:
        known = ", ".join(sorted(INGESTION_PATHS))
        raise DebugRefused(
            _(
                "“%(path)s” is not one of our inbound postback endpoints: "
                "paste a URL whose path is one of %(known)s."
            )
            % {"path": parts.path or "/", "known": known}
        )
    return parts.path, parts.query


def _method(method: str) -> str:
    method = (method or "GET").strip().upper()
    if method not in METHODS:
        raise DebugRefused(
            _("Method %(method)s is not one the endpoints take: choose GET or POST.") % {"method": method}
        )
    return method


def _request(method: str, path: str, query: str, body: str) -> HttpRequest:
    """The request a partner's server would send; a body starting with `{` is JSON, else a form."""
    if len(body) > MAX_BODY_LENGTH:
        raise DebugRefused(
            _("The body is longer than %(size)s kB: paste a shorter one.") % {"size": MAX_BODY_LENGTH // 1024}
        )
    json_body = body.lstrip().startswith(("{", "["))
    return RequestFactory().generic(
        method,
        f"{path}?{query}" if query else path,
        data=body.encode(),
        content_type="application/json" if json_body else "application/x-www-form-urlencoded",
        HTTP_USER_AGENT=USER_AGENT,
    )


def _params(request: HttpRequest) -> tuple[dict[str, str] | None, str]:
    """The parameters as the endpoint reads them, or why they cannot be read."""
    try:
        return request_params(request), ""
    except BadParameters as exc:
        return None, str(exc)


# -- the dry run ------------------------------------------------------------------------------


def postback_debug(*, organization: Any, url: str, method: str = "GET", body: str = "") -> Debugged:
    """How the endpoint would answer this request, and what it would change; nothing is written.

    Raises DebugRefused for a URL that is not one of the inbound endpoints or a method they
    do not take.
    """
    path, query = inbound_path(url)
    method = _method(method)
    request = _request(method, path, query, body)
    params, unreadable = _params(request)
    token = (params or {}).get("token", "")
    if token and token_organization_id(token) not in (None, getattr(organization, "pk", None)):
        # Another organization's token is exactly as unknown as a wrong one.
        request = _request(method, path, urlencode({**(params or {}), "token": UNKNOWN_TOKEN}), "")
    match = resolve(path)
    with trace.recording() as recorder, transaction.atomic():
        response = _respond(request, match)
        debugged = _explain(recorder, request, response, params=params, unreadable=unreadable)
        transaction.set_rollback(True)
    return debugged


def _respond(request: HttpRequest, match: ResolverMatch) -> HttpResponse:
    """The endpoint's answer: its view behind the ingestion middleware, exceptions answered as it does."""
    request.resolver_match = match
    middleware: IngestionErrorsMiddleware

    def view(request: HttpRequest) -> HttpResponse:
        try:
            # A failure rolls back to this savepoint: the dry run's transaction stays readable.
            with transaction.atomic():
                return match.func(request, *match.args, **match.kwargs)
        except Exception as error:  # noqa: BLE001 - answered as the middleware answers it, kept nowhere
            trace.note("inbound", row=None)  # what it logged was rolled back with it
            return middleware.process_exception(request, error) or not_found_response(request.path)

    middleware = IngestionErrorsMiddleware(view)
    return middleware(request)


# -- what happened, read inside the transaction -----------------------------------------------


def _answer(response: HttpResponse) -> tuple[Any, str]:
    if response.get("Content-Type", "").startswith("application/json"):
        return json.loads(response.content), ""
    return None, response.get("Location", "")


def _explain(
    recorder: trace.Trace,
    request: HttpRequest,
    response: HttpResponse,
    *,
    params: dict[str, str] | None,
    unreadable: str,
) -> Debugged:
    answer, location = _answer(response)
    endpoint = ENDPOINTS[request.path]
    debugged = Debugged(
        method=request.method or "GET",
        path=request.path,
        endpoint=endpoint,
        status_code=response.status_code,
        answer=answer,
        location=location,
    )
    inbound = recorder.get("inbound").get("row")
    lead = _lead(inbound)
    events, deliveries = [], []
    if inbound is not None:
        events = list(LeadEvent.objects.filter(inbound=inbound).order_by("id"))
        deliveries = list(Delivery.objects.filter(lead_event__inbound=inbound).order_by("id"))
    debugged.lead = _lead_facts(lead, inbound)
    debugged.events = [_event_facts(event) for event in events]
    debugged.deliveries = [_delivery_facts(delivery) for delivery in deliveries]
    debugged.inbound = _inbound_facts(inbound)
    debugged.steps = _steps(recorder, debugged, params, unreadable, lead, inbound)
    return debugged


def _lead(inbound: InboundPostback | None) -> Lead | None:
    if inbound is None or inbound.lead_id is None:
        return None
    return Lead.objects.select_related("goal", "click", "link", "offer", "partner").get(pk=inbound.lead_id)


def _lead_facts(lead: Lead | None, inbound: InboundPostback | None) -> dict[str, Any] | None:
    if lead is None or inbound is None:
        return None
    return {
        "id": lead.pk,
        "created": inbound.outcome == Outcome.CREATED,
        "status": lead.status,
        "goal": lead.goal.code if lead.goal_id else None,
        "payout": money_text(lead.payout),
        "revenue": money_text(lead.revenue),
        "currency": lead.currency,
        "exto": lead.exto,
        "verdict": lead.verdict,
        "verdict_reason": lead.verdict_reason,
    }


def _event_facts(event: LeadEvent) -> dict[str, Any]:
    return {
        "kind": event.kind,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "from_goal": event.from_goal,
        "to_goal": event.to_goal,
        "to_payout": money_text(event.to_payout) if event.to_payout is not None else None,
        "to_revenue": money_text(event.to_revenue) if event.to_revenue is not None else None,
        "note": event.note,
    }


def _delivery_facts(delivery: Delivery) -> dict[str, Any]:
    return {
        "kind": delivery.kind,
        "event": delivery.event,
        "state": delivery.state,
        "url": delivery.url_masked,
    }


def _inbound_facts(inbound: InboundPostback | None) -> dict[str, Any] | None:
    if inbound is None:
        return None
    return {"outcome": inbound.outcome, "http_status": inbound.http_status, "reason": inbound.reason}


# -- the steps --------------------------------------------------------------------------------


def _steps(
    recorder: trace.Trace,
    debugged: Debugged,
    params: dict[str, str] | None,
    unreadable: str,
    lead: Lead | None,
    inbound: InboundPostback | None,
) -> list[Step]:
    endpoint = debugged.endpoint
    steps = [
        Step(
            "Endpoint",
            _(
                "%(endpoint)s: %(method)s %(path)s. The URL was parsed here, "
                "not requested: nothing was sent to its host."
            )
            % {"endpoint": Endpoint(endpoint).label, "method": debugged.method, "path": debugged.path},
        ),
        Step("Parameters", _params_text(params, unreadable, recorder.get("params").get("read_as"))),
        Step("Token and scope", _scope_text(recorder.get("scope"))),
        Step("Target", _target_text(recorder.get("target"), endpoint)),
    ]
    if endpoint in LEAD_ENDPOINTS:
        steps += [
            Step("Key", _key_text(recorder.get("target"))),
            Step("Lead", _lead_text(lead, inbound)),
            Step("Goal", _goal_text(recorder.get("goal"), lead, inbound, params or {})),
            Step("Status", _status_text(recorder.get("status"), lead, endpoint)),
            Step("Money", _money_text(lead)),
            Step("Screening", _verdict_text(lead)),
            Step("Caps", str(NO_CAPS)),
        ]
    else:
        steps.append(Step("Screening", _record_text(recorder.get("record").get("record"))))
    steps += [
        Step("Answer", f"{debugged.status_code}{' ' + debugged.answer_text if debugged.answer_text else ''}"),
        Step("Deliveries", _deliveries_text(debugged.deliveries, lead)),
        Step("Inbound log", _inbound_text(inbound, recorder.get("failure").get("error"))),
        Step("Written", str(NOTHING_WRITTEN)),
    ]
    return steps


def _shown(params: dict[str, str]) -> str:
    masked = {**params, "token": mask_secret(params["token"])} if params.get("token") else params
    return ", ".join(f"{name}={value}" for name, value in masked.items()) or _("none")


def _params_text(params: dict[str, str] | None, unreadable: str, read_as: dict[str, str] | None) -> str:
    if params is None:
        return _("Unreadable: %(reason)s") % {"reason": unreadable}
    text = _shown(params)
    if read_as is not None and read_as != params:
        text += _(". Read by the conversion API as: %(params)s") % {"params": _shown(read_as)}
    return text


def _scope_text(scope: dict[str, Any]) -> str:
    if not scope:
        return _("Unknown (or missing): no app or integration of your organization has this token.")
    app, integration = scope["app"], scope.get("integration")
    if integration is not None:
        # Read apart: the integration may be the hot cache's shared instance, left as it is.
        partner = Partner.objects.filter(pk=integration.partner_id).values_list("name", flat=True).first()
        return _("Integration #%(id)s (partner “%(partner)s” on app “%(app)s”): its clicks and links.") % {
            "id": integration.pk,
            "partner": partner,
            "app": app.name,
        }
    return _("App “%(app)s” (#%(id)s): every click, link and lead of this app.") % {
        "app": app.name,
        "id": app.pk,
    }


def _target_text(target: dict[str, Any], endpoint: str) -> str:
    if target.get("click") is not None:
        click = target["click"]
        return _("Click %(click)s (offer #%(offer)s, tracking link #%(link)s).") % {
            "click": click.click_id,
            "offer": click.offer_id,
            "link": click.link_id,
        }
    if target.get("link") is not None:
        link = target["link"]
        return _("Tracking link #%(link)s (%(code)s), named by %(named_by)s.") % {
            "link": link.pk,
            "code": link.code,
            "named_by": target.get("named_by", "flow"),
        }
    if target.get("link_data") is not None:
        data = target["link_data"]
        return _("Tracking link #%(link)s (%(code)s) of offer #%(offer)s, named by %(named_by)s.") % {
            "link": data["link_id"],
            "code": data["code"],
            "offer": data["offer_id"],
            "named_by": target["named_by"],
        }
    return _("Not reached: the request was answered before it named a click or a tracking link.")


def _key_text(target: dict[str, Any]) -> str:
    if not target:
        return _("Not reached.")
    exto = target.get("exto", "")
    if target.get("click") is not None:
        return _("(click, exto “%(exto)s”).") % {"exto": exto} if exto else _("The click alone (no exto).")
    if exto:
        return _("(tracking link, exto “%(exto)s”).") % {"exto": exto}
    return _("None: a tracking link without exto is no key, so every creation by it is a new lead.")


def _lead_text(lead: Lead | None, inbound: InboundPostback | None) -> str:
    if lead is None or inbound is None:
        reason = inbound.reason if inbound is not None else _("the request was refused before")
        return _("None: %(reason)s") % {"reason": reason}
    outcome = inbound.outcome
    if outcome == Outcome.CREATED:
        return _(
            "Would be created (the dry run gave it id %(id)s; the real request takes the next free id)."
        ) % {"id": lead.pk}
    if outcome == Outcome.DUPLICATE:
        return _("Found #%(id)s: its key is taken, so the existing lead is answered (created: false).") % {
            "id": lead.pk
        }
    if outcome == Outcome.UNCHANGED:
        return _("Found #%(id)s: nothing changes (the same values again are a no-op).") % {"id": lead.pk}
    return _("Found #%(id)s: updated.") % {"id": lead.pk}


def _goal_text(
    goal: dict[str, Any], lead: Lead | None, inbound: InboundPostback | None, params: dict[str, str]
) -> str:
    if goal:
        if goal["sent"].lower() == goal["goal"].lower():
            return _("%(goal)s, found by its code.") % {"goal": goal["goal"]}
        return _("%(goal)s, found by the alias “%(alias)s”.") % {"goal": goal["goal"], "alias": goal["sent"]}
    if params.get("goal") and lead is None:
        return _("“%(goal)s” was not accepted: see the answer.") % {"goal": params["goal"]}
    if lead is None:
        return _("Not reached.")
    code = lead.goal.code if lead.goal_id else _("none")
    if inbound is not None and inbound.outcome == Outcome.CREATED:
        return _("%(goal)s: no goal was sent, so the offer's default goal counts.") % {"goal": code}
    return _("Unchanged (%(goal)s): no goal was sent.") % {"goal": code}


def _status_text(status: dict[str, Any], lead: Lead | None, endpoint: str) -> str:
    if status:
        found = {"sent": status["sent"], "status": status["status"], "parameter": status["parameter"]}
        if status["parameter"]:
            text = _("“%(sent)s” → %(status)s, recognized by your own word in %(parameter)s.") % found
        else:
            text = (
                _("“%(sent)s” → %(status)s, recognized by the synonym table (see the postback reference).")
                % found
            )
    elif endpoint == Endpoint.STATUS:
        text = _("No status recognized: see the answer.")
    else:
        text = _("None sent: a new lead starts as %(status)s.") % {"status": LeadStatus.NEW}
    if lead is not None:
        text += _(" The lead's status: %(status)s.") % {"status": lead.status}
    return text


def _money_text(lead: Lead | None) -> str:
    if lead is None:
        return _("Not reached.")
    text = _(
        "Payout %(payout)s %(currency)s (from %(payout_from)s), "
        "revenue %(revenue)s %(currency)s (from %(revenue_from)s)."
    ) % {
        "payout": money_text(lead.payout),
        "revenue": money_text(lead.revenue),
        "currency": lead.currency,
        "payout_from": "wm" if lead.payout_set_by_postback else _("the goal"),
        "revenue_from": "pay" if lead.revenue_set_by_postback else _("the goal"),
    }
    if lead.verdict in WITHHOLDING_VERDICTS:
        text += _(" The payout is held at 0 while the lead is %(verdict)s.") % {"verdict": lead.verdict}
    return text


def _verdict_text(lead: Lead | None) -> str:
    if lead is None:
        return _("Not reached (a source the integration's lists keep out is refused in the answer).")
    if lead.verdict == Verdict.OK:
        return _("ok: no screening rule fired.")
    details = ", ".join(f"{name}={value}" for name, value in lead.verdict_details.items())
    details = f"; {details}" if details else ""
    # A cap's verdict names its cap in the details; only screening has a rule.
    rule = _(" (rule #%(rule)s)") % {"rule": lead.verdict_rule_id} if lead.verdict_rule_id else ""
    return f"{lead.verdict}: {lead.verdict_reason}{rule}{details}."


def _record_text(record: Any) -> str:
    if record is None:
        return _("Nothing recorded: see the answer.")
    click = hasattr(record, "click_id")
    verdict = getattr(record, "verdict", Verdict.OK)
    if verdict == Verdict.OK:
        if click:
            return _(
                "The click would be recorded, verdict ok (its id is the dry run's: a real one gets its own)."
            )
        return _(
            "The impression would be recorded, verdict ok (its id is the dry run's: a real one gets its own)."
        )
    found = {"verdict": verdict, "reason": record.verdict_reason}
    if click:
        return _("The click would be recorded, verdict %(verdict)s: %(reason)s.") % found
    return _("The impression would be recorded, verdict %(verdict)s: %(reason)s.") % found


def _deliveries_text(deliveries: list[dict[str, Any]], lead: Lead | None) -> str:
    if not deliveries:
        return _("None would go out.") if lead is not None else _("None.")
    kinds = ", ".join(f"{delivery['kind']} ({delivery['state']})" for delivery in deliveries)
    return _("%(count)s would go out: %(kinds)s; their URLs are below, secrets masked.") % {
        "count": len(deliveries),
        "kinds": kinds,
    }


def _inbound_text(inbound: InboundPostback | None, error: BaseException | None) -> str:
    if error is not None:
        return _(
            "A failure of ours (%(error_type)s: %(error)s): the endpoint answers 503 "
            "and keeps the request for replay."
        ) % {"error_type": type(error).__name__, "error": error}
    if inbound is None:
        return _("No row: the request was answered before it was logged.")
    reason = f": {inbound.reason.rstrip('.')}" if inbound.reason else ""
    return _("Would be logged as %(outcome)s (%(status)s)%(reason)s.") % {
        "outcome": inbound.get_outcome_display().lower(),
        "status": inbound.http_status,
        "reason": reason,
    }
