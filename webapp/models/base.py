from datetime import UTC, datetime

from peewee import Model

from webapp.extensions import db


def utcnow():
    """Naive UTC: every timestamp column stores UTC; pages convert to the viewer's timezone."""
    return datetime.now(UTC).replace(tzinfo=None)


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False
