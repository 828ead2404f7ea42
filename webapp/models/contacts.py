import json

from peewee import BlobField, BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField, TextField

from webapp import phones
from webapp.models.base import BaseModel, utcnow


def dump_fields(fields):
    return json.dumps(fields or {}, ensure_ascii=False, sort_keys=True)


def load_fields(text):
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def search_text(name, phone, email, fields):
    """What the list page's search matches; the phone appears as 62... and, for Indonesian numbers, 0..."""
    digits = phones.digits(phone)
    local = "0" + digits[2:] if digits.startswith("62") else ""
    parts = [name or "", email or "", digits, local, *(str(v) for v in (fields or {}).values())]
    return " ".join(p for p in parts if p).lower()


class ContactList(BaseModel):
    name = CharField(max_length=120, unique=True)
    description = TextField(default="")
    created_at = DateTimeField(default=utcnow)


def template_variables(name, phone, custom_fields):
    """What a message's {{variables}} can name for one contact (also read from bare columns, see sms)."""
    return {"name": name, "phone": phone, **load_fields(custom_fields)}


class Contact(BaseModel):
    """A person we may message or call. ``opted_out`` mirrors an OptOut row for the same phone."""

    name = CharField(max_length=200, default="", index=True)
    # E.164, parsed with the default region ID.
    phone = CharField(max_length=20, unique=True)
    email = CharField(max_length=254, null=True)
    # Free-form template variables as a JSON object of strings; read and write through ``fields``.
    custom_fields = TextField(default="{}")
    # Lower-cased name, e-mail, phone forms and field values: one column for the list page's search.
    search = TextField(default="")
    opted_out = BooleanField(default=False, index=True)
    opted_out_at = DateTimeField(null=True)
    opted_out_reason = CharField(max_length=255, default="")
    verified_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow, index=True)
    updated_at = DateTimeField(default=utcnow)

    @property
    def fields(self):
        return load_fields(self.custom_fields)

    @fields.setter
    def fields(self, value):
        self.custom_fields = dump_fields(value)

    def template_variables(self):
        return template_variables(self.name, self.phone, self.custom_fields)

    def save(self, *args, **kwargs):
        self.search = search_text(self.name, self.phone, self.email, self.fields)
        self.updated_at = utcnow()
        return super().save(*args, **kwargs)


class ContactListMember(BaseModel):
    contact = ForeignKeyField(Contact, on_delete="CASCADE", backref="memberships")
    list = ForeignKeyField(ContactList, on_delete="CASCADE", backref="memberships")
    added_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("contact", "list"), True),)


class ContactEvent(BaseModel):
    """Something that happened to the contact record itself (created, imported, opted out/in, verified)."""

    contact = ForeignKeyField(Contact, on_delete="CASCADE", backref="events")
    kind = CharField(max_length=32)
    detail = TextField(default="")
    user_id = IntegerField(null=True)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("contact", "created_at"), False),)


class OptOut(BaseModel):
    """Do not contact this number, whether or not it belongs to a contact; outlives a deleted contact."""

    phone = CharField(max_length=20, unique=True)
    reason = CharField(max_length=255, default="")
    # manual | contact | sms | import
    source = CharField(max_length=16, default="manual")
    user_id = IntegerField(null=True)
    created_at = DateTimeField(default=utcnow, index=True)


class ImportJob(BaseModel):
    """One CSV upload and its import, run by the worker (webapp.contacts.import_run).

    status: draft (uploaded, columns not mapped) > planning (dry run queued) > planned (preview shown)
    > queued > running > done | failed; a draft or planned job can also be cancelled.
    """

    user_id = IntegerField(null=True)
    filename = CharField(max_length=255)
    # Bytes of the upload, kept in import_file until the import ends; 0 once they are deleted.
    file_size = IntegerField(default=0)
    encoding = CharField(max_length=32)
    delimiter = CharField(max_length=4)
    has_header = BooleanField(default=True)
    headers = TextField(default="[]")
    # The first rows as read, for the column mapping form (so that page never reads the file).
    sample = TextField(default="[]")
    mapping = TextField(default="[]")
    list_id = IntegerField(null=True)
    # fill | overwrite | skip: what a row whose phone already exists does to that contact.
    dedupe = CharField(max_length=16, default="fill")
    status = CharField(max_length=16, default="draft", index=True)
    note = TextField(default="")
    message = TextField(default="")
    # The dry run's counts and example rows (JSON), shown before anything is written.
    plan = TextField(default="{}")
    total_rows = IntegerField(default=0)
    processed_rows = IntegerField(default=0)
    created_count = IntegerField(default=0)
    updated_count = IntegerField(default=0)
    skipped_count = IntegerField(default=0)
    error_count = IntegerField(default=0)
    duplicate_count = IntegerField(default=0)
    warning_count = IntegerField(default=0)
    # The worker running a stage holds the lease and renews it with every batch (webapp.long_jobs).
    lease_holder = CharField(max_length=64, default="")
    lease_expires_at = DateTimeField(null=True)
    attempts = IntegerField(default=0)
    created_at = DateTimeField(default=utcnow, index=True)
    started_at = DateTimeField(null=True)
    finished_at = DateTimeField(null=True)
    updated_at = DateTimeField(default=utcnow)

    @property
    def header_list(self):
        return json.loads(self.headers or "[]")

    @property
    def sample_rows(self):
        return json.loads(self.sample or "[]")

    @property
    def mapping_list(self):
        return json.loads(self.mapping or "[]")

    @property
    def plan_summary(self):
        return json.loads(self.plan or "{}")

    @property
    def percent(self):
        return int(self.processed_rows * 100 / self.total_rows) if self.total_rows else 0


class ImportFile(BaseModel):
    """The uploaded file in chunks, so a worker on any host can read it; deleted when the import ends."""

    job = ForeignKeyField(ImportJob, on_delete="CASCADE", backref="file_chunks")
    seq = IntegerField()
    data = BlobField()

    class Meta:
        indexes = ((("job", "seq"), True),)


class ImportRowError(BaseModel):
    job = ForeignKeyField(ImportJob, on_delete="CASCADE", backref="row_errors")
    line = IntegerField()
    # refused | duplicate (the row was not imported) | warning (imported, one value left blank)
    kind = CharField(max_length=16, default="refused")
    reason = TextField()
    # The row's cells as read (JSON list), so the error file can be fixed and imported again.
    data = TextField(default="[]")

    @property
    def cells(self):
        return json.loads(self.data or "[]")

    class Meta:
        indexes = ((("job", "line"), False),)
