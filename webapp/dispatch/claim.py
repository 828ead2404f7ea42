"""Atomic claiming of queued sends with a lease, on PostgreSQL and SQLite."""
from datetime import timedelta
from functools import reduce
from operator import and_

from webapp.db import dialect
from webapp.dispatch import states
from webapp.dispatch.registry import CLAIM_FILTERS
from webapp.extensions import db
from webapp.models import Send, utcnow

# Longer than any provider request (connect + read timeouts) so a live worker never loses its lease.
LEASE_SECONDS = 120


def due_sends(kinds, now=None):
    """Queued sends of these kinds that may be claimed now (due, and allowed by every claim filter)."""
    conditions = [Send.state == states.QUEUED, Send.not_before <= (now or utcnow()), Send.kind.in_(list(kinds))]
    conditions += [make() for make in CLAIM_FILTERS]
    return Send.select().where(reduce(and_, conditions))


def claim(kinds, limit, owner, now=None):
    """Move up to ``limit`` due queued sends of these kinds to `sending` under ``owner``; returns their ids."""
    if limit <= 0 or not kinds:
        return []
    now = now or utcnow()
    due = due_sends(kinds, now).select(Send.id).order_by(Send.id).limit(limit)
    fields = dict(state=states.SENDING, lease_owner=owner, lease_until=now + timedelta(seconds=LEASE_SECONDS),
                  tries=Send.tries + 1, sent_at=None, updated_at=now)
    if dialect() == "postgresql":
        # Lock the chosen rows first (other dispatchers skip them), then update exactly those: an
        # IN (subquery ... LIMIT ... SKIP LOCKED) may be re-scanned by the planner and claim more than asked.
        with db.atomic():
            ids = [row.id for row in due.for_update("FOR UPDATE SKIP LOCKED")]
            if ids:
                Send.update(**fields).where(Send.id.in_(ids)).execute()
            return ids
    # SQLite transactions begin IMMEDIATE (webapp.db), so two dispatchers cannot read the same queued rows.
    with db.atomic():
        update = Send.update(**fields).where(Send.id.in_(due) & (Send.state == states.QUEUED)).returning(Send.id)
        return sorted(row.id for row in update.execute())


def claim_one(send_id, owner, now=None):
    """Claim one given queued send (interactive sends: OTP, click-to-call); True when this owner got it."""
    now = now or utcnow()
    with db.atomic():
        return bool(
            Send.update(state=states.SENDING, lease_owner=owner, lease_until=now + timedelta(seconds=LEASE_SECONDS),
                        tries=Send.tries + 1, sent_at=None, updated_at=now)
            .where((Send.id == send_id) & (Send.state == states.QUEUED)).execute()
        )


def mark_requesting(send_id, owner, now=None):
    """Record, just before the HTTP request, that it is being made; False when the lease was lost or the send's
    campaign stopped running since the claim (paused by an operator or the safety brake: see release())."""
    now = now or utcnow()
    # On the hot path of every send: plain SQL, as peewee would build it, without rebuilding it each time.
    sql = ("UPDATE send SET sent_at = {p}, updated_at = {p} WHERE id = {p} AND state = {p} AND lease_owner = {p} "
           "AND (campaign_id IS NULL OR EXISTS (SELECT 1 FROM campaign c WHERE c.id = send.campaign_id "
           "AND c.status = 'running'))")
    cursor = db.execute_sql(sql.format(p=db.param), (now, now, send_id, states.SENDING, owner))
    return cursor.rowcount == 1


def release(send_id, owner, now=None, unsent=False):
    """A claimed send whose request never started goes back to the queue (its campaign was paused after the
    claim), or ends cancelled with its cancelled campaign. Nothing happens if the lease is no longer ours.

    unsent: the owner knows no request was made although sent_at may be set (mark_requesting's commit can
    land while its answer is lost to a database outage).
    """
    now = now or utcnow()
    from webapp.models import Campaign

    mine = (Send.id == send_id) & (Send.state == states.SENDING) & (Send.lease_owner == owner)
    if not unsent:
        mine &= Send.sent_at.is_null()
    cancelled = Campaign.select(Campaign.id).where(Campaign.status == "cancelled")
    with db.atomic():
        (Send.update(state=states.CANCELLED, lease_owner=None, lease_until=None, final_at=now, updated_at=now,
                     error_text="Campaign cancelled")
         .where(mine & Send.campaign_id.in_(cancelled)).execute())
        return (Send.update(state=states.QUEUED, lease_owner=None, lease_until=None, sent_at=None, updated_at=now,
                            tries=Send.tries - 1)
                .where(mine).execute())


def release_stranded(owner, active_ids, now=None):
    """Queue again this owner's claims that no thread of it is working on and whose request never started:
    a claim whose commit landed while its answer was lost to a database outage. Returns how many."""
    now = now or utcnow()
    stranded = ((Send.state == states.SENDING) & (Send.lease_owner == owner) & Send.sent_at.is_null())
    if active_ids:
        stranded &= Send.id.not_in(list(active_ids))
    with db.atomic():
        return (Send.update(state=states.QUEUED, lease_owner=None, lease_until=None, updated_at=now,
                            tries=Send.tries - 1)
                .where(stranded).execute())


def expire_leases(now=None):
    """Recover sends whose worker died. Returns (requeued, unknown).

    A send whose request had not started (sent_at empty) provably never left: it is queued again. One whose
    request had started may or may not have been accepted: it becomes `unknown`, never queued again.
    """
    now = now or utcnow()
    expired = (Send.state == states.SENDING) & (Send.lease_until < now)
    with db.atomic():
        requeued = (Send.update(state=states.QUEUED, lease_owner=None, lease_until=None, updated_at=now,
                                tries=Send.tries - 1)
                    .where(expired & Send.sent_at.is_null()).execute())
        unknown = (Send.update(state=states.UNKNOWN, lease_owner=None, updated_at=now,
                               error_text="The worker stopped while sending; the provider may or may not have "
                                          "accepted it.")
                   .where(expired & Send.sent_at.is_null(False)).execute())
    return requeued, unknown
