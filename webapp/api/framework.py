"""How an API operation is declared, and what every one of them gets from that declaration.

Each view is declared once with ``@operation``: its path, method, minimum role, the marshmallow schemas of
its query string and JSON body, and its answer. The same declaration registers the Flask route, validates
the request (``Schema.load``) and becomes the operation in /api/openapi.json (webapp.api.openapi), so the
document cannot describe a request the view would not accept.
"""
import json
from dataclasses import dataclass, field
from functools import wraps

from flask import Response, request
from flask_login import current_user
from marshmallow import Schema, ValidationError

from webapp.api import bp, idempotency
from webapp.api.errors import ApiError, json_response

# Statuses every authenticated operation may answer, besides its own (bad JSON, token, role, rate limit).
COMMON_ERRORS = (400, 401, 403, 429)


@dataclass
class Operation:
    rule: str
    method: str
    endpoint: str
    summary: str
    tag: str
    role: str
    query: Schema | None
    body: Schema | None
    response: Schema | None
    status: int
    errors: tuple
    idempotent: bool
    # multipart/form-data uploads: {field name: description}, and the schema of their other (text) fields
    upload: dict = field(default_factory=dict)
    form: Schema | None = None
    description: str = ""


OPERATIONS: list[Operation] = []


def _has_nul(value):
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _field_messages(messages):
    """marshmallow's {field: [messages]} (nested for nested fields) -> {field: "message"}."""
    flat = {}
    for name, value in (messages or {}).items():
        if isinstance(value, dict):
            for inner, text in _field_messages(value).items():
                flat[f"{name}.{inner}"] = text
        elif isinstance(value, list):
            flat[str(name)] = " ".join(str(v) for v in value if not isinstance(v, dict)) or "Invalid value."
        else:
            flat[str(name)] = str(value)
    return flat


def _load(schema, data):
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise ApiError(422, "invalid", "Check the fields named in `fields`.", _field_messages(exc.messages)) from exc


def read_json():
    """The request's JSON object, or a 400 that says why not."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "bad_json", "The body is not valid JSON.") from exc
    if not isinstance(data, dict):
        raise ApiError(400, "bad_json", "The body must be a JSON object.")
    if _has_nul(data):
        # PostgreSQL refuses NUL in text; no field of this API can hold one.
        raise ApiError(400, "bad_json", "The body contains a NUL character.")
    return data


def read_query(schema):
    args = request.args.to_dict()
    if _has_nul(args):
        raise ApiError(400, "bad_query", "The query string contains a NUL character.")
    return _load(schema, args)


def read_form(schema):
    # werkzeug names a part whose name it cannot read None: as "None" it is an unknown field, a 422.
    form = {str(name): value for name, value in request.form.items()}
    if _has_nul(form):
        raise ApiError(400, "bad_form", "A form field contains a NUL character.")
    return _load(schema, form)


def _statuses(errors, query, body, upload, idempotent):
    """Every status the operation may answer besides its success, derived from what it reads."""
    statuses = set(errors) | set(COMMON_ERRORS)
    if query is not None or body is not None or upload:
        statuses.add(422)
    if body is not None or upload:
        statuses.add(413)
    if idempotent:
        statuses.add(409)
    return tuple(sorted(statuses))


def operation(rule, method, *, summary, tag, role="agent", query=None, body=None, response=None, status=200,
              errors=(), idempotent=False, upload=None, form=None, description=""):
    """Declare, route and validate one API operation. The view gets the path values plus ``query`` and/or
    ``body`` (validated dicts) and returns (payload, status) or a payload (dumped through ``response``)."""

    def decorator(func):
        op = Operation(rule=rule, method=method, endpoint=f"{bp.name}.{func.__name__}", summary=summary, tag=tag,
                       role=role, query=query, body=body, response=response, status=status,
                       errors=_statuses(errors, query, body, upload, idempotent), idempotent=idempotent,
                       upload=upload or {}, form=form, description=description)

        @wraps(func)
        def view(**path_values):
            if not current_user.has_role(op.role):
                raise ApiError(403, "forbidden", f"This needs the {op.role} role or above; the token's user is "
                                                 f"{current_user.role}.")
            if op.idempotent:
                return idempotency.answer(current_user.id, lambda: _run(op, func, path_values))
            return _run(op, func, path_values)

        bp.add_url_rule(rule, endpoint=func.__name__, view_func=view, methods=[method])
        OPERATIONS.append(op)
        return view

    return decorator


def _run(op, func, path_values):
    kwargs = dict(path_values)
    if op.query is not None:
        kwargs["query"] = read_query(op.query)
    if op.form is not None:
        kwargs["form"] = read_form(op.form)
    if op.body is not None:
        kwargs["body"] = _load(op.body, read_json())
    elif op.method in ("POST", "PATCH", "PUT") and not op.upload and read_json():
        raise ApiError(422, "invalid", "This operation takes no body.")
    result = func(**kwargs)
    if isinstance(result, Response):
        return result
    payload, status = result if isinstance(result, tuple) else (result, op.status)
    if status == 204:
        return Response(status=204)
    if op.response is not None:
        payload = op.response.dump(payload)
    return json_response(payload, status)
