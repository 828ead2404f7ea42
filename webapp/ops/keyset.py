"""Keyset pages over an id-ordered table: "older than id N" instead of OFFSET, so page 500 of a million rows
costs what page 1 does."""
from webapp.params import id_value

PER_PAGE = 50


def page(query, id_field, args, per_page=PER_PAGE):
    """(rows newest first, the id to pass as ``before`` for the next page or None)."""
    before = id_value(args.get("before"))
    if before:
        query = query.where(id_field < before)
    rows = list(query.order_by(id_field.desc()).limit(per_page + 1))
    return rows[:per_page], (rows[per_page - 1].id if len(rows) > per_page else None)
