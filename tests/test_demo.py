"""`flask demo` as a person starts it: on the ports given, twice on one database, with the printed password."""
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_demo(env, port, sandbox_port):
    proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "demo", "--port", str(port),
                             "--sandbox-port", str(sandbox_port)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = ""
    deadline = time.monotonic() + 60
    while "Provider simulators" not in output and time.monotonic() < deadline and proc.poll() is None:
        output += proc.stdout.readline()
    assert "Provider simulators" in output, output
    return proc, re.search(r"password: (\S+)", output).group(1)


def stop(proc):
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
    proc.stdout.close()


def sign_in(base, email, password):
    session = requests.Session()
    for _ in range(50):  # the app server starts right after the banner
        try:
            page = session.get(f"{base}/login", timeout=5).text
            break
        except requests.ConnectionError:
            time.sleep(0.1)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    answer = session.post(f"{base}/login", data={"email": email, "password": password, "csrf_token": token},
                          allow_redirects=False, timeout=10)
    return session, answer


def test_demo_moves_ports_and_every_printed_password_works(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}", "SECRET_KEY": "x",
           "CALLBACK_TOKEN": "demo-token", "SANDBOX": "1"}
    env.pop("PUBLIC_BASE_URL", None)
    env.pop("SANDBOX_URL", None)
    port, sandbox_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    for _start in range(2):  # the second start runs on the database the first one seeded
        proc, password = start_demo(env, port, sandbox_port)
        try:
            for email in ("admin@example.com", "agent@example.com"):
                _session, answer = sign_in(base, email, password)
                assert answer.status_code == 302 and "/login" not in answer.headers["Location"], (email, answer.text)
            session, _ = sign_in(base, "admin@example.com", password)
            providers = session.get(f"{base}/settings/providers", timeout=10).text
            assert f"{base}/callbacks/masking/demo-token" in providers
            assert f"http://127.0.0.1:{sandbox_port}/masking" in providers
            assert ":5055" not in providers and "127.0.0.1:5000" not in providers
            assert requests.get(f"http://127.0.0.1:{sandbox_port}/", timeout=5).json()["simulators"]
            if _start == 0:
                assert_callback_arrives(session, base, proc)
        finally:
            stop(proc)


def assert_callback_arrives(session, base, proc):
    """A missed-call OTP goes to the simulators on their port, whose callback comes back to the app's port
    (the demo prints one access line per request, the token masked)."""
    page = session.get(f"{base}/otp/", timeout=10).text
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    sent = session.post(f"{base}/otp/", data={"phone": "+6281200000000", "method": "miscall", "csrf_token": token},
                        allow_redirects=False, timeout=10)
    assert sent.status_code in (302, 303), sent.text
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    deadline = time.monotonic() + 20
    line = ""
    while "/callbacks/citcall/" not in line and time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            continue
    assert "POST /callbacks/citcall/[token]" in line and '" 200' in line, line
