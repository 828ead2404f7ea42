"""Idempotency-Key on POSTs that send or create: a retried request gets the stored answer, never a second send.

The key is claimed by inserting its row before the work starts (the unique index settles a race between two
retries arriving together: the loser answers 409 while the first is still being handled). The answer is
stored with the row; the same key with another method, path or body is a 409 too. A request that failed
with a server error or a rate limit (429) leaves no row, so it can be retried with the same key. Keys are
kept for KEEP.
"""
import hashlib
from datetime import timedelta

from flask import Response, request
from peewee import IntegrityError

from webapp.api.errors import ApiError
from webapp.extensions import db
from webapp.models import ApiIdempotency, utcnow

HEADER = "Idempotency-Key"
MAX_KEY = 200
# How long a key is remembered: retries happen within minutes; a day covers an outage of the caller too.
KEEP = timedelta(hours=24)
# Refusals that say "not now" rather than "no": the retry they ask for must run, not replay them.
TRANSIENT = {429}


def _upload_digest(upload):
    digest = hashlib.sha256()
    while chunk := upload.stream.read(1024 * 1024):
        digest.update(chunk)
    upload.stream.seek(0)
    return digest.digest()


def _body_parts():
    if request.mimetype != "multipart/form-data":
        return [request.get_data(cache=True)]
    # A client's retry (curl, requests) writes a new random multipart boundary: the same request is the
    # same fields and files, not the same bytes.
    parts = []
    for name, value in sorted((str(n), v) for n, v in request.form.items(multi=True)):
        parts += [name.encode(), value.encode()]
    for name, upload in sorted(((str(n), f) for n, f in request.files.items(multi=True)), key=lambda p: p[0]):
        parts += [name.encode(), (upload.filename or "").encode(), _upload_digest(upload)]
    return parts


def _request_hash():
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.path.encode(), *_body_parts()):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _key():
    key = request.headers.get(HEADER)
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY or not key.isascii() or not key.isprintable():
        raise ApiError(400, "bad_idempotency_key", f"{HEADER} is 1 to {MAX_KEY} printable ASCII characters.",
                       {HEADER: "Invalid key."})
    return key


def _replay(row, request_hash):
    if row.request_hash != request_hash:
        raise ApiError(409, "idempotency_key_reused",
                       f"This {HEADER} was already used with another request. Use a new key for a new request.")
    if row.status == 0:
        raise ApiError(409, "idempotency_key_in_use", "A request with this key is still being handled; retry later.")
    return Response(row.body, status=row.status, mimetype="application/json", headers={"Idempotent-Replayed": "true"})


def answer(user_id, run):
    """Run ``run()`` (which returns a Response) at most once per (user, key); replay its answer after that."""
    key = _key()
    if key is None:
        return run()
    request_hash = _request_hash()
    existing = ApiIdempotency.get_or_none((ApiIdempotency.user_id == user_id) & (ApiIdempotency.key == key))
    if existing is not None:
        return _replay(existing, request_hash)
    try:
        with db.atomic():
            row = ApiIdempotency.create(user_id=user_id, key=key, request_hash=request_hash, status=0)
    except IntegrityError:
        existing = ApiIdempotency.get((ApiIdempotency.user_id == user_id) & (ApiIdempotency.key == key))
        return _replay(existing, request_hash)
    try:
        response = run()
    except ApiError as exc:
        response = exc.response()
    except BaseException:
        row.delete_instance()
        raise
    if response.status_code >= 500 or response.status_code in TRANSIENT:
        row.delete_instance()
        return response
    ApiIdempotency.update(status=response.status_code, body=response.get_data(as_text=True)).where(
        ApiIdempotency.id == row.id).execute()
    return response


def prune(now=None):
    """The worker's hourly job: forget keys older than KEEP."""
    return ApiIdempotency.delete().where(ApiIdempotency.created_at < (now or utcnow()) - KEEP).execute()
