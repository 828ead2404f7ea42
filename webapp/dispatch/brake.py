"""The safety brake: a campaign pauses itself when its sends show the account, not the numbers, is the problem.

Two triggers, checked after each failed campaign send:
- one answer whose code the provider module lists in ACCOUNT_CODES (balance ran out, sender id not
  registered, account expired, credentials or IP refused...): every other send would fail the same way;
- a failure rate above BRAKE_FAILURE_RATE over the last BRAKE_WINDOW final outcomes since the brake was
  armed (launch, or the last Resume). Calls nobody picked up (busy, no answer) are the callee's doing and
  never count.
The campaign becomes `paused` with the reason stored; its queued sends stay queued (nothing is lost) and a
send already claimed but not yet requested goes back to the queue (webapp.dispatch.claim.mark_requesting
only lets a running campaign's send leave). Resuming is an operator's explicit action, which re-arms the brake.
"""
import logging

from flask import current_app

from webapp.db import dialect
from webapp.dispatch import states
from webapp.models import Campaign, Send, utcnow
from webapp.reasons import reason_for

log = logging.getLogger(__name__)

DEFAULT_WINDOW = 20
DEFAULT_FAILURE_RATE = 0.5
# Our own codes that refuse every send of any provider (its settings are missing).
GENERIC_ACCOUNT_CODES = frozenset({"config"})
PROVIDER_NAMES = {"masking": "SMS masking", "citcall": "CitCALL", "oca": "OCA", "airtel": "Airtel"}
# Reason categories (webapp.reasons) that are no failure of ours: the callee did not pick up.
NOT_FAILURES = frozenset({"ok", "pending", "callee"})


def account_codes(provider):
    from webapp.providers import REGISTRY, module

    declared = module(provider).ACCOUNT_CODES if provider in REGISTRY else frozenset()
    return declared | GENERIC_ACCOUNT_CODES


def is_account_level(send):
    """True when this failed send's answer refuses the whole account (see the providers' ACCOUNT_CODES)."""
    return send.state == states.FAILED and send.error_code in account_codes(send.provider)


def observe(send):
    """Called after a campaign send's state changed; pauses its campaign when the brake's rules say so.
    Returns the reason when it paused the campaign."""
    if send.campaign_id is None or send.state not in (states.FAILED, states.UNDELIVERABLE):
        return None
    if is_account_level(send):
        reason = reason_for(send.provider, send.error_code, send.error_text, send.kind)
        name = PROVIDER_NAMES.get(send.provider, send.provider)
        return engage(send.campaign_id, f"{name} refused the account: {reason}", send.error_code)
    return _check_rate(send.campaign_id)


def settings(config=None):
    config = config if config is not None else current_app.config
    window = int(config.get("BRAKE_WINDOW", DEFAULT_WINDOW) or 0)
    rate = float(config.get("BRAKE_FAILURE_RATE", DEFAULT_FAILURE_RATE) or 0)
    return window, rate


def _check_rate(campaign_id):
    window, limit = settings()
    if window <= 0 or limit <= 0:
        return None
    query = Campaign.select().where(Campaign.id == campaign_id)
    if dialect() == "postgresql":
        # Callbacks apply in their own transactions, concurrently: the observers take turns on the campaign
        # row, so each counts after the one before it committed and the send that tips the rate over the
        # limit is never judged on a snapshot missing its neighbours. (SQLite writers are serialised anyway.)
        query = query.for_update()
    campaign = query.first()
    if campaign is None or campaign.status != "running":
        return None
    since = campaign.brake_armed_at or campaign.launched_at
    query = (Send.select(Send.provider, Send.kind, Send.state, Send.error_code, Send.error_text)
             .where((Send.campaign_id == campaign_id)
                    & Send.state.in_([states.DELIVERED, states.FAILED, states.UNDELIVERABLE])))
    if since is not None:
        query = query.where(Send.final_at >= since)
    recent = list(query.order_by(Send.final_at.desc(), Send.id.desc()).limit(window))
    if len(recent) < window:
        return None
    failed = sum(1 for s in recent if s.state != states.DELIVERED
                 and reason_for(s.provider, s.error_code, s.error_text, s.kind).category not in NOT_FAILURES)
    if failed / window <= limit:
        return None
    return engage(campaign_id, f"{failed} of the last {window} sends failed ({100 * failed // window}%), above the "
                               f"{limit:.0%} limit", "failure_rate")


def engage(campaign_id, reason, code):
    """Pause a running campaign with its reason, if it still has sends waiting; returns the reason, or None
    when there was nothing left to hold back (or it was no longer running)."""
    # Claimed sends whose request has not started count too: they go back to the queue (claim.release()).
    pending = (Send.select().where((Send.campaign_id == campaign_id)
                                   & Send.state.in_([states.QUEUED, states.SENDING])).exists())
    if not pending:
        return None
    paused = (Campaign.update(status="paused", pause_reason=reason, pause_code=str(code)[:64], paused_at=utcnow())
              .where((Campaign.id == campaign_id) & (Campaign.status == "running")).execute())
    if not paused:
        return None
    log.warning("campaign %s paused by the safety brake: %s", campaign_id, reason)
    from webapp.auth.service import audit

    audit("campaign.brake", target=f"campaign:{campaign_id}", detail=reason)
    return reason
