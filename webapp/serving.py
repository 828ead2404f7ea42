"""Development servers (demo, sandbox) whose access log never prints query strings.

The masking API carries its username and password in the query string (balance.php, inbox.php), so a
request line logged verbatim would put a credential in the log. Callback paths carry our own token, which is masked.
"""
from werkzeug.serving import WSGIRequestHandler, make_server

from webapp.logmask import mask


class QuietQueryHandler(WSGIRequestHandler):
    def log_request(self, code="-", size="-"):
        # The callback token is a path segment: masked like gunicorn's lines (webapp.logmask).
        path = mask(self.path.split("?", 1)[0])
        self.log("info", '"%s %s %s" %s %s', self.command, path, self.request_version, code, size)


def server(host, port, app):
    return make_server(host, port, app, threaded=True, request_handler=QuietQueryHandler)
