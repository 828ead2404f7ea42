"""Real `flask worker` processes for tests: started against the test database and the sandbox, their log
kept in a file the test can read."""
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def start_worker(app, sandbox_url, live_url, log_path, **settings):
    env = {
        **os.environ, "DATABASE_URL": app.config["DATABASE_URL"], "SANDBOX": "1", "SANDBOX_URL": sandbox_url,
        "SECRET_KEY": "test-secret-key", "CALLBACK_TOKEN": "test-callback-token", "PUBLIC_BASE_URL": live_url,
        **{name: str(value) for name, value in settings.items()},
    }
    log = open(log_path, "ab")  # noqa: SIM115 (the child writes to it for its whole life)
    try:
        return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker"], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT)
    finally:
        log.close()


def stop_workers(*workers):
    for worker in workers:
        if worker.poll() is None:
            worker.terminate()
    for worker in workers:
        try:
            worker.wait(10)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(5)


def wait_for(predicate, timeout=20, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False
