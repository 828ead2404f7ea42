"""The sender: claims due sends, respects per-provider rates and capacity, calls the provider, records outcomes.

Each send is claimed (queued -> sending, with a lease) in the database before its request is made, and its
outcome is written right after the answer. A crash between the two leaves the row `sending`; when its lease
expires it becomes `unknown` (never queued again automatically), so nothing is sent twice and nothing is lost
silently. Only failures that prove the provider accepted nothing are re-queued with backoff.

A database outage does not change that: a send whose request has not left goes back to the queue once the
database is back, and the answer to one that has left is held and written when it is (webapp.outage).
"""
import logging
import math
import os
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import partial

from webapp.dispatch import limits, states
from webapp.dispatch.claim import claim, due_sends, mark_requesting, release, release_stranded
from webapp.dispatch.registry import SENDERS, SkipSend
from webapp.dispatch.updates import apply_outcome, requeue_or_fail, settle_failure, skip
from webapp.extensions import db
from webapp.models import Send
from webapp.outage import is_outage, noticing, retry
from webapp.providers.base import ProviderError, current_send_id, requests_made

log = logging.getLogger(__name__)

# Rate-limited sends wait in their thread for their moment (webapp.dispatch.limits): enough threads that the
# account's rate, not the pool, sets the pace at a few hundred ms of provider latency.
MAX_IN_FLIGHT = 32
# A rate-limited provider gets at most this many seconds of sends claimed ahead of its rate.
CLAIM_AHEAD_SECONDS = 1
THROTTLE_COOLDOWN_SECONDS = 5


class Dispatcher:
    def __init__(self, app, max_in_flight=MAX_IN_FLIGHT):
        self.app = app
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.max_in_flight = max_in_flight
        self.pool = ThreadPoolExecutor(max_workers=max_in_flight, thread_name_prefix="dispatch")
        self.in_flight = {}
        # Ids of the sends this process's threads are working on (a claim not among them is stranded).
        self.active = set()
        # Set when a claim failed on an outage: its commit may have landed with no thread to send its rows.
        self.stranded = False
        # Set at shutdown: threads holding an answer stop waiting for the database (the lease takes over).
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.cool_until = {}

    # --- claiming -------------------------------------------------------------------------------------
    def run_once(self):
        """Claim and start as many sends as rates and capacity allow; True when anything was started."""
        started = 0
        # Sender callbacks (rate, capacity) may read the app's config, whoever calls this.
        with self.app.app_context(), db.connection_context(), noticing():
            # One read finds the kinds with due sends; only those pay for capacity checks and a claim
            # (a write transaction), which would otherwise compete with the sends' own writes.
            if self.stranded:
                with self.lock:
                    active = set(self.active)
                released = release_stranded(self.owner, active)
                if released:
                    log.info("%d claims stranded by a database outage queued again", released)
                self.stranded = False
            due_kinds = {row.kind for row in due_sends(list(SENDERS)).select(Send.kind).distinct()}
            for kind in due_kinds:
                sender = SENDERS[kind]
                free = self._free_slots(kind, sender)
                if free <= 0:
                    continue
                try:
                    ids = self._claim(kind, sender, free)
                    rate = self._rate(sender)
                    # One reservation for the batch: each send's moment in the account's rate.
                    waits = limits.reserve(limits.rate_key(sender.provider), rate, len(ids)) if ids and rate else []
                except Exception as exc:
                    self.stranded = self.stranded or is_outage(exc)
                    raise
                if ids:
                    now = time.monotonic()
                    deadlines = dict(zip(ids, [now + wait for wait in waits], strict=False))
                    # One read for the whole batch; each thread gets its row instead of reading it again.
                    for send in Send.select().where(Send.id.in_(ids)).order_by(Send.id):
                        self._start(kind, send, deadlines.get(send.id))
                started += len(ids)
        return started > 0

    def _claim(self, kind, sender, free):
        if sender.capacity is None:
            return claim([kind], free, self.owner)
        # The account's free places are counted and taken under its lock: another worker counting at the
        # same moment waits, then sees these claims.
        with limits.held(limits.concurrency_key(sender.provider)):
            return claim([kind], min(free, sender.capacity()), self.owner)

    def _free_slots(self, kind, sender):
        if self.cool_until.get(sender.provider, 0) > time.monotonic():
            return 0
        with self.lock:
            busy_total = sum(self.in_flight.values())
            busy_kind = self.in_flight.get(kind, 0)
        free = self.max_in_flight - busy_total
        rate = self._rate(sender)
        if rate:
            free = min(free, max(1, math.ceil(rate * CLAIM_AHEAD_SECONDS)) - busy_kind)
        return free

    def _rate(self, sender):
        return sender.rate(self.app.config)

    def _start(self, kind, send, deadline=None):
        with self.lock:
            self.in_flight[kind] = self.in_flight.get(kind, 0) + 1
            self.active.add(send.id)
        self.pool.submit(self._run, kind, send, deadline)

    # --- sending --------------------------------------------------------------------------------------
    def _run(self, kind, send, deadline):
        try:
            with self.app.app_context(), db.connection_context():
                self.process(send, deadline)
        except Exception:
            # The row stays `sending` and its lease will turn it `unknown`: visible, never resent silently.
            log.exception("dispatching send %s failed", send.id)
        finally:
            with self.lock:
                self.in_flight[kind] -= 1
                self.active.discard(send.id)

    def process(self, send, deadline=None):
        """Make the request for one send this dispatcher has claimed (a Send row or its id), at its moment in
        the account's rate (``deadline``, time.monotonic(); reserved now when not given)."""
        if not isinstance(send, Send):
            send = Send.get_or_none(Send.id == send)
        if send is None or send.state != states.SENDING or send.lease_owner != self.owner:
            return
        sender = SENDERS[send.kind]
        rate = self._rate(sender)
        try:
            if rate:
                key = limits.rate_key(sender.provider)
                if deadline is None:
                    deadline = time.monotonic() + limits.reserve(key, rate)[0]
                time.sleep(max(0.0, deadline - time.monotonic()))
                # Counted in its second right before the request, so requests held up on the way cannot
                # bunch past the rate. Past a full second it waits (rare, under a second) as `sending` with
                # its start recorded: were the worker to die then, it would end `unknown`, never resent.
                wait, marked = limits.depart(key, rate, partial(mark_requesting, send.id, self.owner))
                if marked and wait > 0:
                    time.sleep(wait)
            else:
                marked = mark_requesting(send.id, self.owner)
        except Exception as exc:
            if not is_outage(exc):
                raise
            marked = False
        if not marked:
            self._write(lambda: release(send.id, self.owner, unsent=True))
            return
        made = []
        tokens = current_send_id.set(send.id), requests_made.set(made)
        try:
            outcome = sender.send(send)
        except ProviderError as exc:
            self._write(partial(self._failed, send, sender, exc))
            return
        except SkipSend as exc:
            self._write(partial(skip, send, str(exc), self.owner))
            return
        except Exception as exc:
            # A send function reads the database before its request (consent, opt-outs): when that read
            # met an outage, nothing left and the send can be queued again. After a request, the answer is
            # lost; the row stays `sending` and its lease turns it `unknown`.
            if made or not is_outage(exc):
                raise
            self._write(lambda: release(send.id, self.owner, unsent=True))
            return
        finally:
            current_send_id.reset(tokens[0])
            requests_made.reset(tokens[1])
        self._write(lambda: apply_outcome(send, outcome, self.owner))

    def _write(self, func):
        """Record what happened to a send, waiting out a database outage: the answer exists only here."""
        retry(func, stop=self.stopping)

    def _failed(self, send, sender, exc):
        if exc.code in sender.throttle_codes:
            # The provider asked us to slow down: nothing was accepted; wait and try the same row again.
            self.cool_until[sender.provider] = time.monotonic() + THROTTLE_COOLDOWN_SECONDS
            requeue_or_fail(send, exc, self.owner, delay=timedelta(seconds=THROTTLE_COOLDOWN_SECONDS),
                            count_try=False)
        elif exc.retryable and exc.code == "connection_failed":
            backoff = timedelta(seconds=min(300, 2 ** send.tries))
            requeue_or_fail(send, exc, self.owner, delay=backoff, max_tries=sender.max_tries)
        else:
            settle_failure(send, exc, self.owner)

    def busy(self):
        with self.lock:
            return sum(self.in_flight.values())

    def drain(self, timeout=10.0):
        """Send everything due now and wait for the answers (tests, benchmarks). True when all done."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            started = self.run_once()
            if not started and not self.busy() and not self._due():
                return True
            if not started:
                time.sleep(0.005)
        return False

    def _due(self):
        with db.connection_context():
            return due_sends(list(SENDERS)).exists()

    def shutdown(self):
        self.pool.shutdown(wait=True)


_dispatchers = {}


def dispatcher_for(app):
    if app not in _dispatchers:
        _dispatchers[app] = Dispatcher(app)
    return _dispatchers[app]


def run_once(app):
    return dispatcher_for(app).run_once()


def send_now(app, send_id):
    """Make one queued send's request in the calling thread (a person is waiting for it).

    The row exists before this is called, and it is claimed like any other, so a worker cannot send it
    too; if the worker already claimed it, this does nothing and the worker's answer is the one recorded.
    """
    from webapp.dispatch.claim import claim_one

    dispatcher = dispatcher_for(app)
    if claim_one(send_id, dispatcher.owner):
        with dispatcher.lock:
            dispatcher.active.add(send_id)
        try:
            dispatcher.process(send_id)
        finally:
            with dispatcher.lock:
                dispatcher.active.discard(send_id)
    return Send.get_by_id(send_id)


def stop(app):
    """The worker is stopping: its threads no longer wait for an unreachable database."""
    dispatcher = _dispatchers.pop(app, None)
    if dispatcher is not None:
        dispatcher.stopping.set()


def drain(app, timeout=10.0):
    return dispatcher_for(app).drain(timeout)
