"""Where a notifier connects: redis:// URLs, cluster seed lists, borrowed clients."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypedDict
from urllib.parse import unquote, urlsplit

from .errors import NotifierConfigError


class ClusterTarget(TypedDict):
    """Seed nodes of a Redis Cluster, e.g. ``{"cluster": ["redis://10.0.0.1:6379"]}``."""

    cluster: Sequence[str]


@dataclass(frozen=True)
class Endpoint:
    """One parsed redis:// URL."""

    host: str
    port: int
    username: str | None
    password: str | None
    tls: bool
    db: int

    def describe(self) -> str:
        """`redis://host:port` without credentials, for error messages."""
        return f"{'rediss' if self.tls else 'redis'}://{self.host}:{self.port}"


def parse_url(text: object, what: str) -> Endpoint:
    """Parses a redis:// or rediss:// URL; raises `NotifierConfigError` naming `what`."""
    if not isinstance(text, str):
        raise NotifierConfigError(f"{what}: expected a redis:// URL, got {text!r}")
    parts = urlsplit(text)
    if parts.scheme not in ("redis", "rediss"):
        raise NotifierConfigError(f"{what}: expected a redis:// or rediss:// URL, got {text!r}")
    try:
        port = parts.port or 6379
    except ValueError as error:
        raise NotifierConfigError(f"{what}: {error} in {text!r}") from error
    path = parts.path.strip("/")
    if path and not path.isdigit():
        raise NotifierConfigError(f"{what}: the database in {text!r} must be a number")
    return Endpoint(
        host=parts.hostname or "localhost",
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        tls=parts.scheme == "rediss",
        db=int(path) if path else 0,
    )


def connection_options(endpoint: Endpoint, timeout: float) -> dict[str, Any]:
    """redis-py options of a connection a notifier owns: every wait bounded by `timeout`, no retries."""
    return {
        "username": endpoint.username,
        "password": endpoint.password,
        "ssl": endpoint.tls,
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "retry_on_timeout": False,
        "client_name": "huleedu-notify",
    }


def is_client(target: object) -> bool:
    """Whether `target` is a redis-py client (borrowed) rather than a URL or cluster seed list."""
    return hasattr(target, "execute_command") and hasattr(target, "evalsha")


def describe_target(target: object) -> str:
    """Where a notifier publishes, without credentials."""
    if isinstance(target, str):
        return parse_url(target, "redis").describe()
    if isinstance(target, dict) and "cluster" in target:
        return "cluster " + ", ".join(parse_url(url, "redis.cluster").describe() for url in target["cluster"])
    return "the caller-supplied Redis client"


def cluster_seeds(target: object) -> list[Endpoint]:
    """The seed endpoints of a `{"cluster": [urls]}` target; raises `NotifierConfigError`."""
    seeds = target.get("cluster") if isinstance(target, dict) else None
    if not isinstance(seeds, (list, tuple)) or len(seeds) == 0:
        raise NotifierConfigError("redis.cluster must list at least one node URL")
    return [parse_url(seed, f"redis.cluster[{index}]") for index, seed in enumerate(seeds)]
