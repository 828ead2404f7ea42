"""API test helpers: a token per role and a client that sends it."""
import pytest

from webapp.api import tokens


class ApiClient:
    """The Flask test client with a bearer token and JSON bodies; no cookies are ever sent with it."""

    def __init__(self, app, token):
        self.client = app.test_client(use_cookies=False)
        self.token = token

    def _headers(self, headers):
        return {"Authorization": f"Bearer {self.token}", **(headers or {})}

    def get(self, path, headers=None, **kwargs):
        return self.client.get(path, headers=self._headers(headers), **kwargs)

    def post(self, path, json=None, headers=None, **kwargs):
        return self.client.post(path, json=json, headers=self._headers(headers), **kwargs)

    def patch(self, path, json=None, headers=None):
        return self.client.patch(path, json=json, headers=self._headers(headers))

    def delete(self, path, headers=None):
        return self.client.delete(path, headers=self._headers(headers))


@pytest.fixture
def api_tokens(app, users):
    with app.app_context():
        return {role: tokens.create(user, f"{role} token")[1] for role, user in users.items()}


@pytest.fixture
def api(app, api_tokens):
    """api(role) -> a client acting as that role's user."""
    return lambda role="admin": ApiClient(app, api_tokens[role])


def error_of(response):
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}, body
    return body["error"]
