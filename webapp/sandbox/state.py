"""Shared simulator state: request recorder, timers for delayed events, callback delivery, fault injection."""
import heapq
import itertools
import logging
import random
import threading
import time
from collections import deque

import requests
from flask import request

log = logging.getLogger(__name__)


class BaseSimulator:
    """One provider's in-memory world; ``reset()`` (re)creates it under the shared lock between tests."""

    def __init__(self, state):
        self.state = state
        self.reset()

    def reset(self):
        raise NotImplementedError


class SandboxState:
    def __init__(self, settings):
        self.settings = dict(settings)
        self.lock = threading.RLock()
        self.requests = deque(maxlen=5000)
        self.callbacks_sent = deque(maxlen=5000)
        self.simulators = {}
        self.random = random.Random(self.settings.get("SANDBOX_SEED", 1))
        self._timers = []
        self._running = 0
        self._counter = itertools.count()
        self._wake = threading.Condition(self.lock)
        self._http = requests.Session()
        threading.Thread(target=self._timer_loop, name="sandbox-timers", daemon=True).start()

    # --- settings -----------------------------------------------------------------------------------
    def setting(self, name, default=None):
        return self.settings.get(name, default)

    def configure(self, **settings):
        """Change settings at run time (tests: callback target, delays, latency, failure ratio)."""
        with self.lock:
            self.settings.update(settings)

    @property
    def strict(self):
        """SANDBOX_STRICT: behave like the least the specs show. Optional fields absent, unknown extra fields
        present, ids only where the spec shows them, no request field echoed back that the spec does not
        define. Each simulator reads this flag where the spec leaves it freedom."""
        return str(self.setting("SANDBOX_STRICT", "") or "").lower() in ("1", "true", "yes", "on")

    @property
    def event_delay(self):
        """Seconds between lifecycle steps (SMS delivery, call progress); SANDBOX_EVENT_DELAY."""
        return float(self.setting("SANDBOX_EVENT_DELAY", 1.0))

    # --- recording ----------------------------------------------------------------------------------
    def record(self):
        entry = {
            "method": request.method,
            "path": request.path,
            "args": request.args.to_dict(flat=True),
            "headers": dict(request.headers),
            "form": request.form.to_dict(flat=True),
            "files": {name: {"filename": f.filename, "size": len(f.read()), "content_type": f.content_type}
                      for name, f in request.files.items()},
            "data": request.get_data(cache=True, as_text=True) if not request.files else "",
            "json": request.get_json(silent=True, cache=True),
            "time": time.time(),
        }
        for f in request.files.values():
            f.stream.seek(0)
        with self.lock:
            self.requests.append(entry)

    def requests_to(self, path_prefix):
        with self.lock:
            return [r for r in self.requests if r["path"].startswith(path_prefix)]

    def last_request(self, path_prefix=""):
        matching = self.requests_to(path_prefix)
        return matching[-1] if matching else None

    def reset(self):
        with self.lock:
            self.requests.clear()
            self.callbacks_sent.clear()
            self._timers.clear()
            for simulator in self.simulators.values():
                if simulator is not None and hasattr(simulator, "reset"):
                    simulator.reset()

    # --- faults -------------------------------------------------------------------------------------
    def simulate_latency(self):
        latency = float(self.setting("SANDBOX_LATENCY_MS", 0) or 0)
        if latency > 0:
            time.sleep(latency / 1000.0)

    def should_fail(self):
        """True with probability SANDBOX_FAILURE_RATIO: simulators answer with their documented 5xx."""
        ratio = float(self.setting("SANDBOX_FAILURE_RATIO", 0) or 0)
        return ratio > 0 and self.random.random() < ratio

    # --- delayed work -------------------------------------------------------------------------------
    def later(self, delay, func, *args):
        with self.lock:
            heapq.heappush(self._timers, (time.monotonic() + max(0.0, delay), next(self._counter), func, args))
            self._wake.notify()

    def flush(self, until_idle=True, limit=10000):
        """Run every pending timer now (tests), including ones they schedule, until none is left and none
        is still running on the timer thread (so a callback it is delivering has landed when this returns)."""
        for _ in range(limit):
            with self.lock:
                if not self._timers:
                    if self._running:
                        self._wake.wait(0.01)
                        continue
                    return
                _, _, func, args = heapq.heappop(self._timers)
                self._running += 1
            self._run(func, args)
            if not until_idle:
                return

    def pending(self):
        with self.lock:
            return len(self._timers)

    def _timer_loop(self):
        while True:
            with self.lock:
                while not self._timers or self._timers[0][0] > time.monotonic():
                    timeout = None if not self._timers else max(0.0, self._timers[0][0] - time.monotonic())
                    self._wake.wait(timeout)
                _, _, func, args = heapq.heappop(self._timers)
                self._running += 1
            self._run(func, args)

    def _run(self, func, args):
        try:
            func(*args)
        except Exception:
            log.exception("sandbox timer failed")
        finally:
            with self.lock:
                self._running -= 1
                self._wake.notify_all()

    # --- callbacks to the app -----------------------------------------------------------------------
    def callback_url(self, path):
        base = self.setting("CALLBACK_BASE_URL")
        token = self.setting("CALLBACK_TOKEN")
        if not base or not token:
            return None
        return f"{base}/callbacks/{path.format(token=token)}"

    def deliver(self, method, url, **kwargs):
        """Send a callback like the provider would; failures are logged and recorded, not retried."""
        if not url:
            return None
        try:
            response = self._http.request(method, url, timeout=(2, 10), **kwargs)
            status = response.status_code
        except requests.RequestException as exc:
            status = f"error: {type(exc).__name__}"
        with self.lock:
            self.callbacks_sent.append({"method": method, "url": url, "status": status, **kwargs})
        return status
