"""Secrets out of every log line: gunicorn's access and error logs, the app's and the worker's own loggers."""
import logging

import pytest
from gunicorn.config import Config

from webapp.logmask import GunicornLogger

TOKEN = "test-callback-token"


@pytest.fixture
def lines(ctx):
    """What a handler on the root logger (the worker's basicConfig, or any deployment's) writes."""
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(self.format(record))

    handler = Keep()
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    yield records
    root.removeHandler(handler)


def test_module_loggers_mask_the_token_and_provider_passwords(ctx, lines):
    password = ctx.config["MASKING_PASSWORD"]
    log = logging.getLogger("webapp.campaigns.sms")
    log.warning("report failed: %s", f"GET /masking/report.php?username=u&password={password}")
    log.warning("callback URL %s", f"{ctx.config['PUBLIC_BASE_URL']}/callbacks/masking/{TOKEN}")
    logging.getLogger("apscheduler.executors").error("job failed for %s", f"/airtel/{TOKEN}/events/1")
    text = "\n".join(lines)
    assert password not in text and TOKEN not in text
    assert "password=[token]" in text and "/callbacks/masking/[token]" in text


def test_tracebacks_are_masked(ctx, lines):
    password = ctx.config["OCA_PASSWORD"]
    try:
        raise ConnectionError(f"Max retries exceeded with url: /login?password={password}&token={TOKEN}")
    except ConnectionError:
        logging.getLogger("webapp.dispatch.dispatcher").exception("dispatching send %s failed", 7)
    text = "\n".join(lines)
    assert "dispatching send 7 failed" in text and "Max retries exceeded" in text
    assert password not in text and TOKEN not in text


def test_a_failing_webhook_logs_no_token(app, client, monkeypatch, lines):
    from webapp.callbacks import ingest

    def crash(*_args, **_kwargs):
        raise RuntimeError("store failed")

    monkeypatch.setattr(ingest, "receive", crash)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    assert client.post(f"/callbacks/citcall/{TOKEN}", json={"trxid": "1"}).status_code >= 400
    text = "\n".join(lines)
    assert "/callbacks/citcall/[token]" in text and TOKEN not in text


@pytest.fixture
def gunicorn_logs(tmp_path, monkeypatch):
    monkeypatch.setenv("CALLBACK_TOKEN", TOKEN)
    cfg = Config()
    cfg.set("accesslog", str(tmp_path / "access.log"))
    cfg.set("errorlog", str(tmp_path / "error.log"))
    cfg.set("loglevel", "debug")
    logger = GunicornLogger(cfg)
    yield logger, tmp_path
    logger.close_on_exec()


def test_gunicorn_access_and_error_lines_mask_the_token(gunicorn_logs):
    from datetime import timedelta
    from types import SimpleNamespace

    logger, folder = gunicorn_logs
    path = f"/callbacks/airtel/{TOKEN}/events/ab12"
    response = SimpleNamespace(status="200 OK", response_length=2, headers=[], sent=2)
    request = SimpleNamespace(headers=[("REFERER", f"https://x/callbacks/masking/{TOKEN}")], method="POST",
                              path=path, query="", uri=path, version=(1, 1))
    environ = {"REMOTE_ADDR": "192.0.2.1", "RAW_URI": path, "PATH_INFO": path, "QUERY_STRING": "",
               "SERVER_PROTOCOL": "HTTP/1.1", "REQUEST_METHOD": "POST"}
    logger.access(response, request, environ, timedelta(seconds=0.01))
    logger.error("Error handling request %s", path)
    logger.debug("GET %s", f"/callbacks/masking/{TOKEN}?session_id=1")
    for handler in logger.error_log.handlers + logger.access_log.handlers:
        handler.flush()
    access = (folder / "access.log").read_text()
    error = (folder / "error.log").read_text()
    assert "/callbacks/airtel/[token]/events/ab12" in access
    assert "Error handling request /callbacks/airtel/[token]" in error
    assert TOKEN not in access + error


def test_a_bad_format_string_neither_raises_nor_leaks(ctx, lines):
    logging.getLogger("webapp.x").warning("two %s %s", f"/callbacks/citcall/{TOKEN}")
    assert lines and TOKEN not in lines[-1] and "/callbacks/citcall/[token]" in lines[-1]


def test_gunicorn_conf_uses_the_masking_logger_and_no_query_strings():
    """gunicorn reads ./gunicorn.conf.py by default: the masking only holds if that file selects it."""
    from pathlib import Path

    settings = {}
    exec((Path(__file__).resolve().parents[1] / "gunicorn.conf.py").read_text(), settings)  # noqa: S102
    assert settings["logger_class"] == "webapp.logmask.GunicornLogger"
    assert "%(U)s" in settings["access_log_format"]
    assert not any(atom in settings["access_log_format"] for atom in ("%(r)s", "%(q)s", "%({raw_uri}e)s"))
