"""The store without Redis: entries per process, generations in files shared by a host's workers."""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from enterprise.cache.conf import cache_settings
from enterprise.cache.entries import CachedResponse, now_ms
from enterprise.cache.keys import epoch_key, with_generations
from enterprise.cache.stores.base import HIT, MISS, REBUILD, STALE, WAIT, Lookup, _ErrorGate


class LocalStore:
    """Entries in this process's memory; generations in files every local worker reads.

    Generation values are random tokens written atomically (``os.replace``),
    so concurrent bumps from several workers can never produce a value some
    cached entry was stored under.
    """

    name = "local"

    def __init__(self, directory: Path, max_entries: int) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.max_entries = max_entries
        self.gate = _ErrorGate()
        self._entries: OrderedDict[str, tuple[bytes, float]] = OrderedDict()
        self._locks: dict[str, float] = {}
        self._stats: Counter[str] = Counter()
        self._mutex = threading.Lock()

    def _path(self, key: str) -> Path:
        return self.directory / hashlib.blake2b(key.encode(), digest_size=12).hexdigest()

    def _generation(self, key: str) -> str:
        try:
            with open(self._path(key), "rb") as fh:
                return fh.read(64).decode() or "0"
        except FileNotFoundError:
            return "0"

    def _get(self, key: str) -> bytes | None:
        item = self._entries.get(key)
        if item is None:
            return None
        value, expires = item
        if expires < time.monotonic():
            self._entries.pop(key, None)
            return None
        self._entries.move_to_end(key)
        return value

    def _put(self, key: str, value: bytes, ttl_seconds: float) -> None:
        self._entries[key] = (value, time.monotonic() + ttl_seconds)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def _take_lock(self, key: str) -> bool:
        now = time.monotonic()
        if self._locks.get(key, 0) > now:
            return False
        self._locks[key] = now + cache_settings()["LOCK_MS"] / 1000
        return True

    def lookup(
        self, gen_keys: list[str], base: str, resource: str, watch: tuple[str, ...] = ()
    ) -> Lookup | None:
        key = with_generations(base, [self._generation(k) for k in gen_keys])
        watched = {k: self._generation(k) for k in watch}
        with self._mutex:
            raw = self._get(key)
            entry = CachedResponse.decode_shared(raw) if raw is not None else None
            outdated = None
            if entry is not None and entry.deps:
                current = self.generations(list(entry.deps))
                if current != list(entry.deps.values()):
                    outdated, entry = entry, None
            if entry is not None:
                if entry.fresh_until_ms >= now_ms():
                    state = HIT
                else:
                    state = REBUILD if self._take_lock(key) else STALE
            else:
                entry = None
                state = MISS if self._take_lock(key) else WAIT
            self._stats[f"{resource}:{state}"] += 1
        return Lookup(key, state, entry, outdated, watched)

    def fetch(self, key: str) -> CachedResponse | None:
        with self._mutex:
            raw = self._get(key)
        return CachedResponse.decode_shared(raw) if raw else None

    def save(
        self,
        key: str,
        entry: CachedResponse,
        ttl_seconds: int,
        resource: str,
        shadow: tuple[str, int] | None = None,
    ) -> None:
        encoded = entry.encode()
        with self._mutex:
            self._put(key, encoded, ttl_seconds + cache_settings()["STALE_GRACE"])
            if shadow is not None:
                self._put(shadow[0], encoded, shadow[1])
            self._locks.pop(key, None)
            self._stats[f"{resource}:set"] += 1

    def release(self, key: str) -> None:
        with self._mutex:
            self._locks.pop(key, None)

    def bump(self, gen_keys: Iterable[str], resources: Iterable[str]) -> bool:
        for key in gen_keys:
            path = self._path(key)
            tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
            tmp.write_bytes(secrets.token_hex(8).encode())
            os.replace(tmp, path)
        with self._mutex:
            for resource in resources:
                self._stats[f"{resource}:invalidation"] += 1
        return True

    def get_objects(
        self, gen_keys: list[str], object_gen_keys: list[str], bases: list[str], resource: str
    ) -> tuple[list[str], list[str], dict[str, bytes]]:
        common = ".".join(self._generation(k) for k in gen_keys)
        gens = [self._generation(k) for k in object_gen_keys]
        keys = [f"{base}|{common}.{gen}" for base, gen in zip(bases, gens, strict=True)]
        with self._mutex:
            found = {
                base: raw
                for base, key in zip(bases, keys, strict=True)
                if (raw := self._get(key)) is not None
            }
            if found:
                self._stats[f"{resource}:object_hit"] += len(found)
        return keys, gens, found

    def generations(self, keys: list[str]) -> list[str]:
        return [self._generation(k) for k in keys]

    def set_objects(
        self, items: dict[str, bytes], ttl_seconds: int, resource: str, missed: int
    ) -> None:
        with self._mutex:
            for key, value in items.items():
                self._put(key, value, ttl_seconds)
            if missed:
                self._stats[f"{resource}:object_miss"] += missed

    def counters(self) -> dict[str, int]:
        with self._mutex:
            return dict(self._stats)

    def bump_epoch(self) -> bool:
        return self.bump([epoch_key()], [])

    def info(self) -> dict[str, Any]:
        with self._mutex:
            return {"keys": len(self._entries)}
