"""The long-running commands start cleanly (each is stopped right after it starts)."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("command,ready", [
    (["worker"], "worker started"),
    (["sandbox", "--port", "0"], "provider simulators on"),
])
def test_command_starts(tmp_path, command, ready):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "SECRET_KEY": "x",
           "CALLBACK_TOKEN": "y", "SANDBOX": "1"}
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "init-db"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", *command], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output = ""
        deadline = time.monotonic() + 20
        while ready not in output and time.monotonic() < deadline and proc.poll() is None:
            output += proc.stdout.readline()
        assert ready in output, output
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(10)
        proc.stdout.close()
