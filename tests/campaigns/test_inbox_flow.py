"""The masking inbox end to end: inbox.php answering in every shape the sandbox knows, polled over loopback HTTP,
read by content, stored once, STOP opting out, and lines that are no message kept, counted and shown."""
import logging
import threading
from datetime import timedelta

import pytest
import requests

from tests.campaigns.helpers import make_list
from webapp.campaigns import sms
from webapp.contacts.optouts import is_opted_out
from webapp.extensions import db
from webapp.models import InboxMessage, utcnow
from webapp.sandbox.masking import INBOX_SHAPES

MEMBER, STRANGER = "+6281234567000", "+6281234567001"
# A text with every separator the parser tries, so no shape can read it by luck.
CHATTY = "Halo; info, promo | ya?\tok"
# Shapes whose answer holds lines that are no message (besides the messages themselves), and how many.
NOISE = {"notice": 2}


@pytest.fixture
def shaped(sandbox):
    """Set the inbox shape for one test; the sandbox server lives for the whole session."""
    def use(shape):
        sandbox.configure(SANDBOX_INBOX_SHAPE=shape)
    yield use
    sandbox.configure(SANDBOX_INBOX_SHAPE="")


def text_in(sandbox_server, sender, text):
    response = requests.post(sandbox_server.url + "/masking/_sandbox/inbox", data={"sender": sender, "message": text},
                             timeout=5)
    assert response.status_code == 200


def understood():
    return {m.sender: m for m in InboxMessage.select().where(InboxMessage.understood)}


def not_understood():
    return [m.raw for m in InboxMessage.select().where(~InboxMessage.understood).order_by(InboxMessage.id)]


# Answers that hold no message at all, and the raw lines each leaves.
GARBAGE = {"html-error": 3, "json-error": 1}


@pytest.mark.parametrize("shape", [name for name in INBOX_SHAPES if name not in GARBAGE])
def test_every_inbox_shape_is_read_and_stop_opts_out(shape, shaped, app, sandbox_server):
    shaped(shape)
    with app.app_context():
        make_list("L", [MEMBER])
    text_in(sandbox_server, "6281234567000", "STOP")
    text_in(sandbox_server, "081234567001", CHATTY)
    with app.app_context():
        assert sms.poll_masking_inbox(app) == 2
        assert sms.poll_masking_inbox(app) == 0  # the inbox lists them again: stored once
        rows = understood()
        assert (rows[MEMBER].text, rows[STRANGER].text) == ("STOP", CHATTY)
        assert rows[MEMBER].opted_out and rows[MEMBER].contact_id and not rows[STRANGER].opted_out
        assert is_opted_out(MEMBER) and not is_opted_out(STRANGER)
        for row in rows.values():
            assert abs(row.received_at - utcnow()) < timedelta(minutes=2)  # Jakarta or UTC, read right
            assert row.raw
        assert len(not_understood()) == NOISE.get(shape, 0)


@pytest.mark.parametrize("word", ["STOP", "berhenti"])
def test_strict_inbox_without_ids_or_header_still_opts_out(word, sandbox_mode, app, sandbox_server):
    with app.app_context():
        make_list("L", [MEMBER])
    text_in(sandbox_server, "6281234567000", word)
    text_in(sandbox_server, "6281234567000", word)  # said twice: two messages, both kept
    with app.app_context():
        assert sms.poll_masking_inbox(app) == 2
        assert sms.poll_masking_inbox(app) == 0
        assert is_opted_out(MEMBER)
        assert InboxMessage.select().where(InboxMessage.opted_out).count() == 2
        assert not not_understood()


@pytest.mark.parametrize("shape, needle", [("html-error", "&lt;b&gt;Warning&lt;/b&gt;:  mysqli_connect()"),
                                           ("json-error", "Server sibuk, coba lagi nanti")])
def test_an_answer_that_is_no_inbox_is_kept_counted_shown_and_logged(shape, needle, shaped, app, auth, client,
                                                                     caplog, sandbox_server):
    shaped(shape)
    text_in(sandbox_server, "6281234567000", "STOP")
    with app.app_context(), caplog.at_level(logging.WARNING, logger="webapp.campaigns.inbox"):
        assert sms.poll_masking_inbox(app) == 0
        assert sms.poll_masking_inbox(app) == 0
        assert not is_opted_out(MEMBER)
        lines = not_understood()
    count = GARBAGE[shape]
    assert len(lines) == count
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == count and "not understood" in warnings[0]  # once per line, not once per poll
    auth.login("agent")
    page = client.get("/inbox/").get_data(as_text=True)
    assert f"{count} line{'s' if count > 1 else ''} not understood" in page
    assert needle in page  # the raw text, shown as text, never as markup
    assert "No inbound messages yet." in page


def test_inbox_page_lists_messages_and_the_notice_lines(shaped, app, auth, client, sandbox_server):
    shaped("notice")
    text_in(sandbox_server, "081234567001", CHATTY)
    with app.app_context():
        assert sms.poll_masking_inbox(app) == 1
    auth.login("agent")
    page = client.get("/inbox/").get_data(as_text=True)
    assert "2 lines not understood" in page and "Undefined index: page" in page
    assert "Halo; info, promo | ya?" in page


def test_concurrent_polls_store_each_message_once(shaped, app, sandbox_server):
    shaped("semicolon")
    with app.app_context():
        make_list("L", [MEMBER])
    for n in range(5):
        text_in(sandbox_server, "6281234567000", "STOP" if n == 0 else f"pesan {n}")
    start, results = threading.Barrier(3), []

    def poll():
        with app.app_context(), db.connection_context():
            start.wait()
            results.append(sms.poll_masking_inbox(app))

    threads = [threading.Thread(target=poll) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with app.app_context():
        assert sum(results) == 5
        assert InboxMessage.select().count() == 5
        assert InboxMessage.select().where(InboxMessage.opted_out).count() == 1
