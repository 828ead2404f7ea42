"""Live pages: one URL serves the whole page, or to htmx the page's one live fragment.

A page that shows something moving (a campaign, its calls, a click-to-call, an OTP, the dashboard) wraps every
moving part (status, actions, counts, tables) in one element that polls its own URL and is morphed in place
(idiomorph), so focus, open <details> and scroll survive a refresh. Once nothing on the page can change any
more the fragment comes without its polling attributes and with status 286, htmx's "stop polling", so a
finished page costs nothing.
"""
from flask import make_response, render_template, request

# htmx stops an element's `every` poll when a response carries this status (and still swaps it).
STOP_POLLING = 286


def fragment_requested():
    """An htmx request for the live part; a history restore (back button, nothing cached) needs the page."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def render_live(page_template, fragment_template, live, **context):
    """The full page, or its live fragment to htmx; ``live`` says whether it may still move."""
    if fragment_requested():
        body = render_template(fragment_template, live=live, **context)
        response = make_response(body, 200 if live else STOP_POLLING)
    else:
        response = make_response(render_template(page_template, live=live, **context))
    # Browsers and caches must not hand the fragment out for the page, or the page for the fragment.
    response.vary.add("HX-Request")
    return response
