"""Filter values read from a query string: a bad value is ignored (the list is shown unfiltered by it), never
a 500."""
from datetime import date, datetime, timedelta


def day(raw):
    """A YYYY-MM-DD date typed into a filter, or None."""
    try:
        return date.fromisoformat((raw or "").strip())
    except ValueError:
        return None


def day_range(args, start="from", end="to"):
    """(first moment, moment after the last day) in UTC for the ``from``/``to`` dates, each None when absent."""
    first, last = day(args.get(start)), day(args.get(end))
    return (datetime.combine(first, datetime.min.time()) if first else None,
            datetime.combine(last, datetime.min.time()) + timedelta(days=1) if last else None)


def text(args, name, limit=64):
    return (args.get(name) or "").strip()[:limit]
