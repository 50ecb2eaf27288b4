"""Lead and status postbacks and the conversion API.

Thin by design: read the parameters, find what the token reaches, hand over to
`ingest.protocol.postback_process`, answer its JSON. Requests refused before that
(unreadable parameters, a wrong token, a wrong method) are logged here; a failure of ours
anywhere is kept and answered 503 by `ingest.middleware`.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from config import trace
from ingest.clientip import client_ip
from ingest.log import Arrival, inbound_log, readable_params
from ingest.models import InboundPostback
from ingest.params import BadParameters, request_params
from ingest.protocol import Scope, error_answer, postback_process
from ingest.signing import inbound_refusal
from leads import linkcache

Endpoint = InboundPostback.Endpoint
ALLOWED_METHODS = ("GET", "POST")


def _refused(
    request: HttpRequest,
    endpoint: str,
    params: dict[str, str],
    status: int,
    message: str,
    scope: Scope | None = None,
):
    # A request refused by its token's own checks (ingest.signing) is logged under its app.
    inbound_log(
        arrival=Arrival.from_request(request, endpoint=endpoint, params=params),
        outcome=InboundPostback.Outcome.REJECTED,
        http_status=status,
        reason=message,
        organization_id=scope.app.organization_id if scope else None,
        app=scope.app if scope else None,
        integration=scope.integration if scope else None,
    )
    response = JsonResponse(error_answer(message), status=status)
    if status == 405:
        response["Allow"] = ", ".join(ALLOWED_METHODS)
    return response


def _scope(token: str, endpoint: str) -> Scope | None:
    """The app the token belongs to; the conversion API also takes an integration's token."""
    app = linkcache.app_for_token(token)
    if app is not None:
        return Scope(app=app)
    if endpoint == Endpoint.CONVERSION:
        integration = linkcache.integration_for_token(token)
        if integration is not None:
            return Scope(app=integration.app, integration=integration)
    return None


def _ingest(request: HttpRequest, endpoint: str) -> JsonResponse:
    if request.method not in ALLOWED_METHODS:
        message = f"Method {request.method} is not allowed: use GET or POST."
        return _refused(request, endpoint, {}, 405, message)
    try:
        params = request_params(request)
    except BadParameters as exc:
        return _refused(request, endpoint, readable_params(request), exc.status, str(exc))
    token = params.get("token", "")
    scope = _scope(token, endpoint)
    if scope is None:
        message = (
            "Wrong token: send the token shown on your app's postback reference page."
            if token
            else "Missing token: send token=<your app's token>."
        )
        return _refused(request, endpoint, params, 401, message)
    trace.note("scope", app=scope.app, integration=scope.integration)
    refusal = inbound_refusal(scope.integration or scope.app, params=params, source_ip=client_ip(request))
    if refusal is not None:
        return _refused(request, endpoint, params, refusal.status, refusal.message, scope)
    arrival = Arrival.from_request(request, endpoint=endpoint, params=params)
    result = postback_process(scope=scope, arrival=arrival)
    return JsonResponse(result.body, status=result.http_status)


@csrf_exempt
def lead_postback(request: HttpRequest) -> JsonResponse:
    """Create a lead (SPEC 4.2): `/postback/lead`, `/api/site/click.json`."""
    return _ingest(request, Endpoint.LEAD)


@csrf_exempt
def status_postback(request: HttpRequest) -> JsonResponse:
    """Change a lead's status, or create it with stn / auto=1: `/postback/status`, `/api/site/status.json`."""
    return _ingest(request, Endpoint.STATUS)


@csrf_exempt
def conversion(request: HttpRequest) -> JsonResponse:
    """The conversion API (SPEC 4.3): `/api/v1/conversions`.

    Parameters are the 24metrics seed's: the click is `sub_id` (or `click`), the lead's
    key `external_transaction_id` (as exto); without a click the tracking link is `flow` or
    `code`, or else `offer` (offer id) with `publisher` (partner id) when that pair has exactly
    one link. `third_party_status` sets the status through the same recognition as `status`;
    `revenue` is our revenue (`pay`), `payout` the publisher's (`wm`). The token is the app's;
    a partner system that sends its own parameter names uses its integration's token, and the
    integration's inbound mapping (our name → theirs) translates them.
    """
    return _ingest(request, Endpoint.CONVERSION)
