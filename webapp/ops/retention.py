"""How long provider exchanges and raw callbacks are kept: older rows are deleted by a scheduled job, a
thousand at a time, each batch its own short transaction, so sends and callbacks arriving meanwhile never
wait long behind it (SQLite has one writer; PostgreSQL locks only the rows of the batch)."""
from datetime import timedelta

from flask import current_app

from webapp.extensions import db
from webapp.models import CallbackEvent, ChannelLog, utcnow

BATCH = 1000
# Batches per run at most: a backlog (the first run on a large table) is worked off over several runs.
MAX_BATCHES = 200


def purge_older(model, moment_field, days, now=None, batch=BATCH, max_batches=MAX_BATCHES):
    """Delete rows whose ``moment_field`` is more than ``days`` days old (0 keeps everything); returns how many."""
    if not days or days <= 0:
        return 0
    cutoff = (now or utcnow()) - timedelta(days=days)
    deleted = 0
    for _ in range(max_batches):
        with db.atomic():
            ids = [i for (i,) in model.select(model.id).where(moment_field < cutoff)
                   .order_by(model.id).limit(batch).tuples()]
            if ids:
                deleted += model.delete().where(model.id.in_(ids)).execute()
        if len(ids) < batch:
            break
    return deleted


def purge_expired(app=None, now=None):
    """The scheduled job: provider log and raw callbacks past their retention."""
    config = (app or current_app).config
    return {
        "provider_log": purge_older(ChannelLog, ChannelLog.created_at, config["PROVIDER_LOG_RETENTION_DAYS"], now),
        "callbacks": purge_older(CallbackEvent, CallbackEvent.received_at, config["CALLBACK_RETENTION_DAYS"], now),
    }
