"""gunicorn settings for production: `gunicorn -c gunicorn.conf.py wsgi:app`.

Worker count and bind address come from the command line or GUNICORN_CMD_ARGS; what is set here is what
must hold for every deployment: callback tokens never reach a log line.
"""
# Access and error lines pass through webapp.logmask, which replaces the token in /callbacks/<provider>/<token>.
logger_class = "webapp.logmask.GunicornLogger"
accesslog = "-"
# The default combined format, minus the query string (%(U)s is the path only): the masking API's own
# credentials travel in query strings of requests this app makes, and a URL pasted by someone might too.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(f)s" "%(a)s"'
