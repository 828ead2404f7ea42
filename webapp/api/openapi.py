"""/api/openapi.json (OpenAPI 3.1) built from the @operation declarations, and /api/docs, which renders it.

apispec, because it only generates: the marshmallow schemas that validate each request (framework._load)
are the objects it turns into the document, while routing, bearer auth, the error shape and idempotency stay
ours. spectree and flask-openapi3 validate through their own decorators and answer validation failures in
their own shape (flask-openapi3 also wants its own Flask subclass), which this API's single error shape
and the existing app factory would have to work around.
"""
import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import current_app, render_template

from webapp.api import bp, schemas
from webapp.api.errors import json_response
from webapp.api.framework import OPERATIONS
from webapp.api.idempotency import HEADER
from webapp.api.webhooks import EVENT_SCHEMAS, EVENTS

TITLE = "Campaign Console API"
VERSION = "1.0.0"
PATH_PARAM = re.compile(r"<(?:int:)?(\w+)>")
ERROR_TEXT = {
    400: "Malformed request (JSON, query string, cursor or Idempotency-Key)",
    401: "No token, or an unknown, revoked or expired one",
    403: "The token's user's role does not allow this",
    404: "No such object",
    409: "Conflicts with the object's state, or an Idempotency-Key reused with another request",
    413: "Body larger than the server accepts",
    422: "Refused: `fields` names what to fix",
    429: "Rate limit of the token (or of OTP sends): see Retry-After",
}
ERROR_HEADERS = {
    401: {"WWW-Authenticate": {"required": True, "schema": {"type": "string"}}},
    429: {"Retry-After": {"description": "Seconds to wait (token limit)", "schema": {"type": "string",
                                                                                     "pattern": "^[0-9]+$"}}},
}
DESCRIPTION = """Bearer tokens (Settings > API tokens, or `flask api-token create --user EMAIL`) act with
their user's role. Errors are `{"error": {"code", "message", "fields"}}`. Lists page with `limit` and the
opaque `next_cursor`. POSTs that send or create accept an `Idempotency-Key` header: the same key with the same
body gets the first answer again (nothing is sent twice), with another body a 409."""


def openapi_path(rule):
    return "/api" + PATH_PARAM.sub(r"{\1}", rule)


def _operation(op, converter):
    params = [{"in": "path", "name": name, "required": True,
               "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}}
              for name in PATH_PARAM.findall(op.rule)]
    if op.query is not None:
        params.append({"in": "query", "schema": op.query})
    if op.idempotent:
        params.append({"in": "header", "name": HEADER, "required": False,
                       "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[!-~]+$"},
                       "description": "Retry-safe: the same key and body get the stored answer."})
    responses = {}
    if op.status == 204:
        responses["204"] = {"description": "Done"}
    else:
        responses[str(op.status)] = {"description": "OK" if op.status == 200 else "Created",
                                     "content": {"application/json": {"schema": op.response}}}
    if op.idempotent:
        responses[str(op.status)]["headers"] = {"Idempotent-Replayed": {
            "description": "Present on an answer replayed for a repeated Idempotency-Key",
            "schema": {"type": "string", "enum": ["true"]}}}
    for status in op.errors:
        responses[str(status)] = {"description": ERROR_TEXT[status],
                                  "content": {"application/json": {"schema": schemas.Error}}}
        if status in ERROR_HEADERS:
            responses[str(status)]["headers"] = ERROR_HEADERS[status]
    spec = {"summary": op.summary, "tags": [op.tag], "operationId": op.endpoint.split(".", 1)[1],
            "parameters": params, "responses": responses,
            "description": f"Role: {op.role} or above." + (f" {op.description}" if op.description else "")}
    if op.body is not None:
        spec["requestBody"] = {"required": True, "content": {"application/json": {"schema": op.body}}}
    if op.upload:
        properties = {name: {"type": "string", "contentMediaType": "application/octet-stream", "description": text}
                      for name, text in op.upload.items()}
        required = list(op.upload)
        if op.form is not None:
            fields = converter.schema2jsonschema(op.form)
            properties.update(fields["properties"])
            required += fields.get("required", [])
        spec["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "properties": properties, "required": required}}}}
    return spec


def build():
    marshmallow = MarshmallowPlugin()
    spec = APISpec(title=TITLE, version=VERSION, openapi_version="3.1.0", plugins=[marshmallow],
                   info={"description": DESCRIPTION}, security=[{"bearer": []}])
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Error", schema=schemas.Error)
    for name in {schema.__name__ for schema in EVENT_SCHEMAS.values()}:
        if name not in spec.components.schemas:
            spec.components.schema(name, schema=getattr(schemas, name))
    paths = {}
    for op in OPERATIONS:
        paths.setdefault(openapi_path(op.rule), {})[op.method.lower()] = _operation(op, marshmallow.converter)
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    document = spec.to_dict()
    document["webhooks"] = _webhooks()
    return document


def _webhooks():
    """OpenAPI 3.1's outgoing requests: one per event, the envelope around that event's data schema."""
    signed = [{"in": "header", "name": name, "required": True, "schema": {"type": "string"}, "description": text}
              for name, text in (("Webhook-Id", "The delivery's id, the same on every retry"),
                                 ("Webhook-Event", "The event name"),
                                 ("Webhook-Timestamp", "Unix seconds of this attempt"),
                                 ("Webhook-Signature", "v1= + hex HMAC-SHA256(secret, timestamp + '.' + body)"))]
    hooks = {}
    for event, schema in EVENT_SCHEMAS.items():
        envelope = {"type": "object", "required": ["event", "occurred_at", "data"], "properties": {
            "event": {"const": event}, "occurred_at": {"type": "string", "format": "date-time"},
            "data": {"$ref": f"#/components/schemas/{schema.__name__}"}}}
        hooks[event] = {"post": {
            "summary": EVENTS[event], "operationId": f"webhook_{event.replace('.', '_')}", "parameters": signed,
            "requestBody": {"required": True, "content": {"application/json": {"schema": envelope}}},
            "responses": {"2XX": {"description": "Delivered; anything else is retried with backoff"}}}}
    return hooks


def document():
    """Built once per app: the declarations do not change while it runs."""
    cached = current_app.extensions.get("openapi")
    if cached is None:
        cached = current_app.extensions["openapi"] = build()
    return cached


@bp.route("/openapi.json")
def openapi():
    return json_response(document())


@bp.route("/docs")
def docs():
    return render_template("api/docs.html", doc=document())
