"""/api/v1/calls, /api/v1/otp and /api/v1/providers: the click-to-call, OTP and provider services the
pages use, acting as the token's user."""
import hashlib

from flask import current_app, request
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from webapp.api import schemas as s
from webapp.api.errors import ApiError
from webapp.api.framework import operation
from webapp.api.idempotency import HEADER
from webapp.calls import service as calls
from webapp.calls.progress import settle_from_send
from webapp.models import OtpRequest, ProviderStatus
from webapp.otp import service as otp_service


def call_json(call):
    return {"id": call.id, "state": call.state, "label": call.label, "status": call.status,
            "agent_id": call.agent_id, "contact_id": call.contact_id, "customer_number": call.customer_number,
            "conversation_seconds": call.conversation_seconds, "recording_url": call.recording_url,
            "created_at": call.created_at, "ended_at": call.ended_at}


def _call_key():
    """The call's own idempotency key: derived from the request's Idempotency-Key (per user), so even a
    replay that missed the stored answer finds the call already made; a fresh one when none was sent."""
    key = request.headers.get(HEADER, "").strip()
    if not key:
        return calls.new_key()
    return hashlib.sha256(f"api:{current_user.id}:{key}".encode()).hexdigest()[:32]


@operation("/v1/calls", "POST", summary="Click-to-call: ring the agent, then the customer", tag="calls",
           body=s.CallCreate(), response=s.Call(), status=201, errors=(422,), idempotent=True)
def create_call(body):
    if not body["phone"] and not body["contact_id"]:
        raise ApiError(422, "invalid", "Send `phone` or `contact_id`.", {"phone": "Missing."})
    try:
        call, _created = calls.start_call(current_user._get_current_object(), _call_key(), phone=body["phone"],
                                          contact_id=body["contact_id"], agent_id=body["agent_id"])
    except calls.CallError as exc:
        raise ApiError(422, "refused", str(exc)) from exc
    return call_json(call), 201


@operation("/v1/calls/<int:call_id>", "GET", summary="One call: its progress, outcome and recording", tag="calls",
           response=s.Call(), errors=(404,))
def get_call(call_id):
    call = calls.visible_call(current_user._get_current_object(), call_id)
    if call is None:
        raise ApiError(404, "not_found", "There is no call with this id that you may see.")
    return call_json(settle_from_send(call, calls.call_send(call)))


def otp_json(otp):
    return {"id": otp.id, "phone": otp.phone, "method": otp.method, "status": otp.status, "delivery": otp.delivery,
            "caller_hint": otp.caller_hint, "outcome": otp.outcome, "created_at": otp.created_at,
            "verified_at": otp.verified_at}


def _otp(otp_id):
    # Sign-in and enrolment codes belong to the staff member, not to API clients.
    otp = OtpRequest.get_or_none((OtpRequest.id == otp_id) & (OtpRequest.purpose == "contact"))
    if otp is None:
        raise ApiError(404, "not_found", "There is no OTP request with this id.")
    return otp


@operation("/v1/otp", "POST", summary="Send a one-time code (missed call or SMS)", tag="otp", body=s.OtpCreate(),
           response=s.Otp(), status=201, errors=(422,), idempotent=True)
def create_otp(body):
    form = MultiDict({k: str(v) for k, v in body.items() if v not in (None, "")})
    try:
        values = otp_service.read_form(form)
        otp = otp_service.start(user_id=current_user.id, remote_addr=request.remote_addr or "", **values)
    except otp_service.RateLimited as exc:
        raise ApiError(429, "rate_limited", str(exc)) from exc
    except otp_service.OtpError as exc:
        raise ApiError(422, "invalid", str(exc), exc.fields) from exc
    return otp_json(otp), 201


@operation("/v1/otp/<int:otp_id>", "GET", summary="One OTP request and its delivery", tag="otp", response=s.Otp(),
           errors=(404,))
def get_otp(otp_id):
    return otp_json(_otp(otp_id))


@operation("/v1/otp/<int:otp_id>/verify", "POST", summary="Check the code the person read back", tag="otp",
           body=s.OtpVerify(), response=s.OtpVerifyResult(), errors=(404, 409, 422))
def verify_otp(otp_id, body):
    otp = _otp(otp_id)
    try:
        result = otp_service.verify(otp, body["token"], user_id=current_user.id, remote_addr=request.remote_addr or "")
    except otp_service.OtpError as exc:
        status = 409 if "already verified" in str(exc) else 422
        raise ApiError(status, "conflict" if status == 409 else "invalid", str(exc)) from exc
    return {"valid": result.ok, "outcome": result.outcome, "message": result.message,
            "otp": otp_json(OtpRequest.get_by_id(otp.id))}


@operation("/v1/providers", "GET", summary="Each provider: configured, last known health and balance",
           tag="providers", role="supervisor", response=s.Provider(many=True))
def list_providers():
    from webapp.settings import PROVIDERS

    statuses = {row.provider: row for row in ProviderStatus.select()}
    rows = []
    for name, label, setting in PROVIDERS:
        status = statuses.get(name)
        rows.append({"name": name, "label": label, "configured": bool(current_app.config.get(setting)),
                     "ok": status.ok if status else None, "balance": status.balance if status else None,
                     "message": status.message if status else "", "checked_at": status.checked_at if status else None})
    return rows
