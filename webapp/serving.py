"""The servers of the demo and the sandbox: waitress, with HTTP/1.1 keep-alive and TCP_NODELAY.

werkzeug's development server closes every connection after one response (it cannot drain a request body
without risking the next request line), so each provider request would pay a new TCP connection and the
dispatcher's figures would measure that. waitress keeps connections open, sets TCP_NODELAY by default and
serves a fixed pool of threads.

The access log never prints query strings: the masking API carries its username and password in the query
string (balance.php, inbox.php). Callback paths carry our own token, which is masked (webapp.logmask).
"""
import logging
import threading

from waitress import wasyncore
from waitress.server import create_server

from webapp.logmask import mask

# Not under "webapp": Flask puts its own handler on the app's logger, and each line would be written twice.
log = logging.getLogger("access")
# Requests served at once: the dispatcher keeps up to 32 in flight per worker, and the demo serves pages too.
THREADS = 32
# An idle keep-alive connection is closed after this many seconds.
IDLE_SECONDS = 15
# Open connections accepted at once. Every provider client (and each worker, each browser) keeps its own
# connections open; at waitress's default of 100 a long-lived sandbox (the demo, a test session) stops
# accepting new ones and requests hang until idle ones time out.
CONNECTION_LIMIT = 1000
# The serving loop looks at its stop flag this often (seconds) when nothing else wakes it.
POLL_SECONDS = 0.5


def access_log(app):
    """WSGI middleware writing one line per request: method, masked path, status."""

    def logged(environ, start_response):
        def start(status, headers, exc_info=None):
            log.info('"%s %s %s" %s', environ.get("REQUEST_METHOD"), mask(environ.get("PATH_INFO", "")),
                     environ.get("SERVER_PROTOCOL"), status.split(" ", 1)[0])
            return start_response(status, headers, exc_info)

        return app(environ, start)

    return logged


class Server:
    """serve_forever() in one thread, shutdown() from another (as socketserver's servers do)."""

    def __init__(self, host, port, app, threads=THREADS):
        self.map = {}
        # Forwarded headers reach the app untouched: it decides whom to believe (TRUSTED_PROXIES).
        self.waitress = create_server(access_log(app), map=self.map, host=host, port=port, threads=threads,
                                      channel_timeout=IDLE_SECONDS, connection_limit=CONNECTION_LIMIT,
                                      clear_untrusted_proxy_headers=False)
        self.server_port = self.waitress.effective_port
        self._stop = threading.Event()
        self._stopped = threading.Event()

    def serve_forever(self):
        try:
            while not self._stop.is_set():
                # poll, not select: select() fails once a descriptor number passes 1024.
                wasyncore.loop(timeout=POLL_SECONDS, map=self.map, use_poll=True, count=1)
        finally:
            for channel in list(self.map.values()):
                channel.close()
            self.waitress.task_dispatcher.shutdown()
            self._stopped.set()

    def shutdown(self):
        self._stop.set()
        self.waitress.trigger.pull_trigger()
        self._stopped.wait(timeout=5)


def server(host, port, app, threads=THREADS):
    return Server(host, port, app, threads)
