"""The OpenAPI document: valid 3.1, generated from the same declarations as the routes, and in step with
every /api/v1 rule the app actually serves; the docs page renders it."""
from webapp.api.openapi import openapi_path


def routes(app):
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                served.add((openapi_path(rule.rule.removeprefix("/api")), method.lower()))
    return served


def test_every_route_is_in_the_document_and_nothing_else(client, app):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    doc = response.get_json()
    assert doc["openapi"].startswith("3.1")
    documented = {(path, method) for path, operations in doc["paths"].items() for method in operations}
    assert documented == routes(app)
    assert len(documented) >= 17


def test_the_route_check_notices_an_undocumented_route(app):
    """The check above is not vacuous: a route added without @operation shows up as a difference."""
    app.add_url_rule("/api/v1/secret", endpoint="secret", view_func=lambda: "")
    assert ("/api/v1/secret", "get") in routes(app)


def test_document_is_valid_openapi_31(client, app):
    import jsonschema_rs
    import schemathesis

    schemathesis.openapi.from_wsgi("/api/openapi.json", app).validate()
    doc = client.get("/api/openapi.json").get_json()
    for schema in doc["components"]["schemas"].values():
        jsonschema_rs.meta.validate(schema)
    for operations in doc["paths"].values():
        for op in operations.values():
            assert op["responses"] and op["operationId"] and op["summary"]
            for status, response in op["responses"].items():
                if int(status) >= 400:
                    assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_idempotent_posts_document_the_header(client):
    doc = client.get("/api/openapi.json").get_json()
    for path in ("/api/v1/contacts", "/api/v1/otp", "/api/v1/calls", "/api/v1/campaigns", "/api/v1/audio"):
        names = [p["name"] for p in doc["paths"][path]["post"]["parameters"]]
        assert "Idempotency-Key" in names, path


def test_docs_page_renders_the_document_for_signed_in_staff(auth, client):
    assert client.get("/api/docs").status_code == 302
    auth.login("agent")
    html = auth.client.get("/api/docs").get_data(as_text=True)
    assert "POST /api/v1/otp/{otp_id}/verify" in html and 'id="schema-Contact"' in html
    assert "<script" not in html.split("</head>", 1)[1]
