"""Numbers from query strings and forms, parsed once for every page.

A database integer has a range (PostgreSQL integer: 2^31-1; SQLite refuses Python ints past 2^63), so an id
or page number a person typed into the address bar is clamped or refused here, never passed on to fail as
a 500 deep in a query.
"""
from werkzeug.routing import IntegerConverter

# The largest id any table here will reach (PostgreSQL INTEGER columns hold the foreign keys).
MAX_ID = 2**31 - 1
# Past this page every list is empty anyway; it keeps OFFSET far inside BIGINT.
MAX_PAGE = 1_000_000


def _digits(raw):
    raw = (raw or "").strip()
    # isascii: int() also accepts other scripts' digits ("٣"), which no one types as a page number.
    if raw.isascii() and raw.isdigit() and len(raw) <= 12:
        return int(raw)
    return None


def page_number(source, name="page"):
    """The page asked for (from request.args or a form), 1 when absent or nonsense, at most MAX_PAGE."""
    number = _digits(source.get(name))
    return min(max(1, number or 1), MAX_PAGE)


def id_value(raw):
    """A positive id from text, or None when it is not one any row can have."""
    number = _digits(raw if isinstance(raw, str) else (str(raw) if raw is not None else ""))
    return number if number and number <= MAX_ID else None


def id_list(values):
    """The valid ids among form values (ticked checkboxes), in order, without repeats."""
    return sorted({n for n in (id_value(v) for v in values) if n is not None})


class IdConverter(IntegerConverter):
    """``<int:...>`` in every route: a number past MAX_ID is a 404, not an overflow in the database."""

    def __init__(self, map, *args, **kwargs):  # noqa: A002 (werkzeug's signature)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def one_page(query, page, per_page):
    """(rows of page ``page``, whether another page follows). One row past the page is read to know that; the
    offset still steps by ``per_page`` (peewee's paginate(page, per_page + 1) would skip a row per page)."""
    rows = list(query.limit(per_page + 1).offset((page - 1) * per_page))
    return rows[:per_page], len(rows) > per_page
