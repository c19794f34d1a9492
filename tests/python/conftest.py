"""Shared fixtures: every Python suite runs against local services only.

The AWS environment is pinned before any client is built, so no SDK ever looks for real
credentials or probes the instance-metadata address.
"""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TARGET_DIR = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
VENV_BIN = Path(sys.executable).parent

LOCAL_AWS_ENV = {
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "AWS_EC2_METADATA_DISABLED": "true",
}
for _key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_BEARER_TOKEN_BEDROCK", "AWS_ENDPOINT_URL"):
    os.environ.pop(_key, None)
os.environ.update(LOCAL_AWS_ENV)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited early with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listened on 127.0.0.1:{port} within {timeout}s")


class Service:
    def __init__(self, proc: subprocess.Popen, url: str):
        self.proc = proc
        self.url = url

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_moto() -> Service:
    port = free_port()
    proc = subprocess.Popen(
        [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port, proc)
    return Service(proc, f"http://127.0.0.1:{port}")


def emulator_binary() -> Path:
    binary = TARGET_DIR / "debug" / "bedrock-emulator"
    if not binary.exists():
        raise RuntimeError(f"{binary} is missing: run `cargo build -p bedrock-emulator` first")
    return binary


def start_emulator(*extra_args: str) -> Service:
    """Starts the local Bedrock on a free port; waits for its `listening on` line."""
    port = free_port()
    proc = subprocess.Popen(
        [str(emulator_binary()), "--listen", f"127.0.0.1:{port}", *extra_args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    line = proc.stdout.readline() if proc.stdout else ""
    expected = f"listening on http://127.0.0.1:{port}"
    if expected not in line:
        proc.kill()
        raise RuntimeError(f"emulator did not announce itself; first line was {line!r}")
    return Service(proc, f"http://127.0.0.1:{port}")


@pytest.fixture(scope="session")
def moto():
    service = start_moto()
    yield service
    service.stop()


@pytest.fixture
def emulator():
    """A fresh local Bedrock per test, with no logs endpoint."""
    service = start_emulator()
    yield service
    service.stop()


@pytest.fixture
def emulator_with_logs(moto):
    """A fresh local Bedrock per test that delivers invocation logs to moto's CloudWatch Logs."""
    service = start_emulator("--logs-endpoint", moto.url)
    yield service
    service.stop()
