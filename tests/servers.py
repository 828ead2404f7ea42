"""Real HTTP servers on loopback for tests: the sandbox simulators and the app itself."""
import threading

from webapp.serving import server


class ServerThread:
    def __init__(self, wsgi_app):
        self.server = server("127.0.0.1", 0, wsgi_app)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()


class SwitchableApp:
    """A WSGI entry whose target app can change per test while one server keeps running."""

    def __init__(self):
        self.target = None

    def __call__(self, environ, start_response):
        if self.target is None:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"no app under test"]
        return self.target(environ, start_response)
