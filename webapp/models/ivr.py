import json

from peewee import CharField, DateTimeField, FloatField, IntegerField, TextField

from webapp.models.base import BaseModel, utcnow


class AudioFile(BaseModel):
    """An MP3 for IVR calls: our own copy (played in the console) and OCA's copy (played in calls).

    Rows exist only for files OCA accepted; ``oca_url`` is the value a call's variable carries.
    """

    name = CharField(max_length=200)
    # File name under the instance uploads folder (audio/...).
    stored_name = CharField(max_length=64, unique=True)
    size_bytes = IntegerField()
    duration_seconds = FloatField()
    bitrate_kbps = IntegerField()
    sample_rate = IntegerField()
    oca_id = CharField(max_length=64)
    oca_url = TextField()
    uploaded_by = IntegerField(null=True)
    created_at = DateTimeField(default=utcnow)


class OcaIvr(BaseModel):
    """One IVR designed in the OCA dashboard, as ivr-list last answered (replaced on each refresh)."""

    ivr_id = CharField(max_length=64, unique=True)
    name = CharField(max_length=200)
    # JSON list of the variable names a call to this IVR must give.
    required_variables = TextField(default="[]")
    created_at = DateTimeField(null=True)
    fetched_at = DateTimeField(default=utcnow)

    @property
    def variables(self):
        return json.loads(self.required_variables or "[]")


class OcaNumber(BaseModel):
    """A caller id the OCA account may call from, as the numbers endpoint last answered."""

    number = CharField(max_length=32, unique=True)
    fetched_at = DateTimeField(default=utcnow)
