"""The API's answers: JSON bodies, and errors of one shape {"error": {"code", "message", "fields"}}."""
import json

from flask import Response


class ApiError(Exception):
    def __init__(self, status, code, message, fields=None, headers=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or {}
        self.headers = headers or {}

    def response(self):
        return error_response(self.status, self.code, self.message, self.fields, self.headers)


def error_response(status, code, message, fields=None, headers=None):
    body = json.dumps({"error": {"code": code, "message": message, "fields": fields or {}}})
    return Response(body, status=status, mimetype="application/json", headers=headers or {})


def json_response(payload, status=200, headers=None):
    return Response(json.dumps(payload, default=str), status=status, mimetype="application/json",
                    headers=headers or {})
