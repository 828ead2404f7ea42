"""The demo and sandbox servers keep connections alive, and provider clients reuse them."""
import logging

import requests

from tests.servers import ServerThread
from webapp.providers import client_for


def remote_port(environ, start_response):
    body = environ["REMOTE_PORT"].encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def test_two_requests_reuse_one_connection():
    server = ServerThread(remote_port).start()
    try:
        with requests.Session() as session:
            first = session.get(server.url + "/a")
            second = session.get(server.url + "/b?q=1")
        assert first.headers.get("Connection", "").lower() != "close"
        assert first.text == second.text
    finally:
        server.stop()


def test_a_provider_client_sends_two_requests_over_one_connection(ctx, sandbox):
    client = client_for("masking", ctx.config, log_sink=lambda exchange: None)
    client.balance()
    client.balance()
    pools = client.session.get_adapter(client.base_url).poolmanager.pools
    [pool] = [pools[key] for key in pools.keys()]
    assert (pool.num_connections, pool.num_requests) == (1, 2)


def test_the_access_log_masks_the_callback_token_and_drops_the_query(caplog):
    server = ServerThread(remote_port).start()
    try:
        with caplog.at_level(logging.INFO, logger="access"):
            requests.get(server.url + "/callbacks/masking/secret-token?password=hunter2")
    finally:
        server.stop()
    line = caplog.records[-1].getMessage()
    assert "/callbacks/masking/" in line and "secret-token" not in line and "hunter2" not in line


def test_many_idle_keep_alive_connections_do_not_lock_new_clients_out():
    # A test session or a long demo leaves a connection open per provider client: past waitress's default
    # limit of 100 the server stopped accepting, and every later request hung.
    server = ServerThread(remote_port).start()
    sessions = [requests.Session() for _ in range(150)]
    try:
        for session in sessions:
            assert session.get(server.url + "/idle", timeout=5).ok
        assert requests.get(server.url + "/new", timeout=5).ok
    finally:
        for session in sessions:
            session.close()
        server.stop()
