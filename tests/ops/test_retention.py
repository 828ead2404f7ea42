from datetime import datetime, timedelta

import pytest

from webapp.models import CallbackEvent, ChannelLog
from webapp.ops import retention
from webapp.scheduler import JOBS

NOW = datetime(2026, 6, 1, 12)


def _log(age):
    return ChannelLog.create(provider="masking", operation="send", method="GET", url="u", created_at=NOW - age)


def _callback(age, n):
    return CallbackEvent.create(provider="masking", dedupe_key=f"k{n}", method="GET", received_at=NOW - age)


def test_rows_past_retention_are_deleted_in_batches_and_newer_ones_kept(ctx):
    old = [_log(timedelta(days=91)) for _ in range(5)]
    kept = _log(timedelta(days=89))
    deleted = retention.purge_older(ChannelLog, ChannelLog.created_at, 90, now=NOW, batch=2)
    assert deleted == len(old)
    assert [r.id for r in ChannelLog.select()] == [kept.id]


def test_batches_per_run_are_capped_so_a_backlog_spreads_over_runs(ctx):
    for _ in range(5):
        _log(timedelta(days=100))
    assert retention.purge_older(ChannelLog, ChannelLog.created_at, 90, now=NOW, batch=2, max_batches=2) == 4
    assert ChannelLog.select().count() == 1


def test_scheduled_job_applies_each_setting_and_zero_keeps_forever(app):
    assert any(job_id == "purge-provider-log-and-callbacks" for job_id, _, _ in JOBS)
    assert (app.config["PROVIDER_LOG_RETENTION_DAYS"], app.config["CALLBACK_RETENTION_DAYS"]) == (90, 90)
    app.config.update(PROVIDER_LOG_RETENTION_DAYS=0, CALLBACK_RETENTION_DAYS=7)
    with app.app_context():
        _log(timedelta(days=400))
        _callback(timedelta(days=8), 1)
        fresh = _callback(timedelta(days=6), 2)
        assert retention.purge_expired(app, now=NOW) == {"provider_log": 0, "callbacks": 1}
        assert ChannelLog.select().count() == 1
        assert [c.id for c in CallbackEvent.select()] == [fresh.id]


@pytest.mark.parametrize("raw,expected", [("30", 30), ("0", 0)])
def test_retention_days_come_from_the_environment(monkeypatch, tmp_path, raw, expected):
    from webapp import create_app

    monkeypatch.setenv("CALLBACK_RETENTION_DAYS", raw)
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "CALLBACK_TOKEN": "y",
                      "DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}"})
    assert app.config["CALLBACK_RETENTION_DAYS"] == expected
