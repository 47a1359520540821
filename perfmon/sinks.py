"""Where workers publish request counters and slow-operation samples, so readers see every worker.

Counters are grouped by *slot* (``"<unix seconds // SLOT_SECONDS>"``, or
``"total"`` for since-start) and are plain integers, so publishing is adding
deltas and reading is summing: any worker (on any host, for Redis) can
answer ``metrics/summary`` for all of them.

``RedisSink``  one hash per slot (``perfmon:m:<slot>``), ``HINCRBY`` deltas in a
               pipeline once per ``FLUSH_SECONDS`` per worker; slots expire after
               ``HISTORY_SECONDS``. Shares the response cache's Redis client (short
               timeouts, no retries) and backs off for 5 s after an error: metrics
               never make a request wait on a broken Redis.
``FileSink``   one JSON file per worker process in ``DIRECTORY`` (like Prometheus'
               multiprocess mode), rewritten atomically on each flush; readers add
               the files up. For the single-host, no-Redis default.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

logger = logging.getLogger("perfmon")

Counts = dict[str, dict[str, int]]  # slot -> field -> count


class Sink(Protocol):
    name: str

    def publish(self, deltas: Counts, samples: list[dict[str, Any]]) -> None: ...
    def read(self, slots: Iterable[str]) -> Counts: ...
    def slow_samples(self, limit: int) -> list[dict[str, Any]]: ...
    def claim(self, name: str, seconds: int) -> bool: ...
    def reset(self) -> None: ...


def merge_into(target: dict[str, int], delta: dict[str, int]) -> None:
    for field, n in delta.items():
        target[field] = target.get(field, 0) + n


class RedisSink:
    name = "redis"
    PREFIX = "perfmon:"  # the default key prefix

    def __init__(
        self, client: Any, *, history_seconds: int, keep_samples: int, prefix: str = PREFIX
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.history_seconds = history_seconds
        self.keep_samples = keep_samples
        self._off_until = 0.0

    def _guard(self, operation: str, default: Any, fn: Any) -> Any:
        if time.monotonic() < self._off_until:
            return default
        try:
            return fn()
        except Exception as exc:  # metrics must never fail a request
            self._off_until = time.monotonic() + 5
            logger.warning("perfmon: Redis sink %s failed (%s); retrying in 5 s", operation, exc)
            return default

    def publish(self, deltas: Counts, samples: list[dict[str, Any]]) -> None:
        def run() -> None:
            pipe = self.client.pipeline(transaction=False)
            for slot, fields in deltas.items():
                key = f"{self.prefix}m:{slot}"
                for field, n in fields.items():
                    pipe.hincrby(key, field, n)
                if slot != "total":
                    pipe.expire(key, self.history_seconds + 120)
            if samples:
                pipe.lpush(f"{self.prefix}slow", *(json.dumps(s) for s in samples))
                pipe.ltrim(f"{self.prefix}slow", 0, self.keep_samples - 1)
            pipe.execute()

        self._guard("publish", None, run)

    def read(self, slots: Iterable[str]) -> Counts:
        slots = list(slots)

        def run() -> Counts:
            pipe = self.client.pipeline(transaction=False)
            for slot in slots:
                pipe.hgetall(f"{self.prefix}m:{slot}")
            return {
                slot: {k.decode(): int(v) for k, v in raw.items()}
                for slot, raw in zip(slots, pipe.execute(), strict=True)
                if raw
            }

        return self._guard("read", {}, run)

    def slow_samples(self, limit: int) -> list[dict[str, Any]]:
        raw = self._guard(
            "read", [], lambda: self.client.lrange(f"{self.prefix}slow", 0, limit - 1)
        )
        return [json.loads(item) for item in raw]

    def claim(self, name: str, seconds: int) -> bool:
        return bool(
            self._guard(
                "claim",
                False,
                lambda: self.client.set(f"{self.prefix}claim:{name}", 1, nx=True, ex=seconds),
            )
        )

    def reset(self) -> None:
        def run() -> None:
            keys = list(self.client.scan_iter(match=f"{self.prefix}*", count=500))
            if keys:
                self.client.delete(*keys)

        self._guard("reset", None, run)


class FileSink:
    name = "files"

    def __init__(
        self, directory: str | Path, *, slot_seconds: int, history_seconds: int, keep_samples: int
    ) -> None:
        self.directory = Path(directory)
        self.slot_seconds = slot_seconds
        self.history_seconds = history_seconds
        self.keep_samples = keep_samples
        self._totals: Counts = {}
        self._samples: list[dict[str, Any]] = []
        self._pid = os.getpid()

    @property
    def _own_file(self) -> Path:
        return self.directory / f"{socket.gethostname()}-{os.getpid()}.json"

    def publish(self, deltas: Counts, samples: list[dict[str, Any]]) -> None:
        if os.getpid() != self._pid:  # forked after preload: the parent's figures are not ours
            self._totals, self._samples, self._pid = {}, [], os.getpid()
        for slot, fields in deltas.items():
            merge_into(self._totals.setdefault(slot, {}), fields)
        self._samples = (samples[::-1] + self._samples)[: self.keep_samples]
        oldest = int(time.time() - self.history_seconds - 120)
        self._totals = {
            slot: fields
            for slot, fields in self._totals.items()
            if slot == "total" or int(slot) * self.slot_seconds >= oldest
        }
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp = self._own_file.with_suffix(".tmp")
            tmp.write_text(json.dumps({"counts": self._totals, "slow": self._samples}))
            os.replace(tmp, self._own_file)
        except OSError as exc:
            logger.warning("perfmon: cannot write %s (%s)", self._own_file, exc)

    def _documents(self) -> list[dict[str, Any]]:
        documents = []
        for path in self.directory.glob("*.json"):
            try:
                documents.append(json.loads(path.read_text()))
            except (OSError, ValueError):
                continue  # being replaced, or removed by a reset
        return documents

    def read(self, slots: Iterable[str]) -> Counts:
        wanted = set(slots)
        result: Counts = {}
        for document in self._documents():
            for slot, fields in document.get("counts", {}).items():
                if slot in wanted:
                    merge_into(result.setdefault(slot, {}), fields)
        return result

    def slow_samples(self, limit: int) -> list[dict[str, Any]]:
        samples = [s for d in self._documents() for s in d.get("slow", [])]
        samples.sort(key=lambda s: s.get("at", 0), reverse=True)
        return samples[:limit]

    def claim(self, name: str, seconds: int) -> bool:
        claims = self.directory / "claims"
        try:
            claims.mkdir(parents=True, exist_ok=True)
            for old in claims.iterdir():
                if old.stat().st_mtime < time.time() - max(seconds, 60) * 2:
                    old.unlink(missing_ok=True)
            fd = os.open(claims / name.replace("/", "_"), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return False
        except OSError:
            return False
        os.close(fd)
        return True

    def reset(self) -> None:
        self._totals, self._samples = {}, []
        for path in self.directory.glob("*.json"):
            path.unlink(missing_ok=True)
