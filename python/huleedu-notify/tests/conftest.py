"""Real redis-server processes for the tests: started on free loopback ports, stopped afterwards."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import redis

PACKAGE = Path(__file__).resolve().parent.parent
REPOSITORY = PACKAGE.parent.parent
T = TypeVar("T")


def free_port() -> int:
    """A TCP port nothing listens on right now (the kernel's choice), on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for(check: Callable[[], T | None], what: str, timeout: float = 30.0) -> T:
    """Polls `check` until it returns something truthy (errors count as not yet); bounded."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except Exception as error:  # not ready yet
            last = error
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}" + (f" (last error: {last})" if last else ""))


class RedisServer:
    """One redis-server on 127.0.0.1, in its own directory."""

    def __init__(self, *args: str) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="huleedu-notify-py-")
        self.args = args
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--bind", "127.0.0.1",
                "--port", str(self.port),
                "--save", "",
                "--appendonly", "no",
                "--dir", self.dir,
                *self.args,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: bool(self.client().ping()), f"redis-server on port {self.port}")

    def client(self, **options: Any) -> Any:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=10, **options)

    def pause(self) -> None:
        """Freezes the server (SIGSTOP): connections stay open, nothing answers."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
            self.process = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    yield server
    server.remove()


@pytest.fixture()
def fresh_redis() -> Iterator[RedisServer]:
    """A server of its own, for tests that stop or freeze it."""
    server = RedisServer()
    yield server
    server.remove()


class Subscriber:
    """Records what arrives on channels (SUBSCRIBE or, with `sharded`, SSUBSCRIBE)."""

    def __init__(self, server_port: int) -> None:
        self.connection = redis.Redis(host="127.0.0.1", port=server_port, socket_timeout=10)
        self.pubsub = self.connection.pubsub()
        self.messages: list[tuple[str, str]] = []

    def subscribe(self, channel: str, *, sharded: bool = False) -> None:
        command = "SSUBSCRIBE" if sharded else "SUBSCRIBE"
        self.pubsub.execute_command(command, channel)  # type: ignore[no-untyped-call]
        # Wait for the confirmation, so a publish right after is heard.
        wait_for(lambda: self._confirmed(), f"{command} {channel}")

    def _confirmed(self) -> bool:
        reply = self.pubsub.parse_response(block=False, timeout=0.1)
        return bool(reply) and reply[0] in (b"subscribe", b"ssubscribe")

    def poll(self) -> list[tuple[str, str]]:
        while True:
            reply = self.pubsub.parse_response(block=False, timeout=0.05)
            if not reply:
                return self.messages
            if reply[0] in (b"message", b"smessage"):
                self.messages.append((reply[1].decode(), reply[2].decode()))

    def next_message(self, count: int = 1) -> list[tuple[str, str]]:
        return wait_for(lambda: self.poll() if len(self.poll()) >= count else None, f"{count} message(s)")

    def close(self) -> None:
        self.pubsub.close()
        self.connection.close()


@pytest.fixture()
def subscriber(redis_server: RedisServer) -> Iterator[Subscriber]:
    recorder = Subscriber(redis_server.port)
    yield recorder
    recorder.close()


def node_available() -> bool:
    return shutil.which("node") is not None and (PACKAGE / "node_modules" / "@huleedu" / "notify").exists()


def run_node(script: str, *args: str) -> str:
    """Runs an ES module with node in this package (where @huleedu/notify is linked); returns stdout."""
    run = subprocess.run(
        ["node", "--input-type=module", "-e", script, *args],
        cwd=PACKAGE,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ},
    )
    assert run.returncode == 0, f"node failed ({run.returncode}): {run.stderr}"
    return run.stdout
