"""Where generations, cached responses and cached objects live: Redis, or this machine.

``RedisStore`` (``REDIS_URL`` set) answers a response lookup in one round
trip: a server-side script reads the epoch and the resource generations,
builds the entry key, reads the entry, takes the single-flight lock when the
entry is soft-expired or absent, and counts the outcome.

``LocalStore`` (no ``REDIS_URL``) keeps entries in each process's memory but
the generations in small files shared by every gunicorn worker on the host:
each lookup reads the current generations, so a write made through one worker
is never answered with a stale entry by another.

Both degrade to "no cache" instead of failing a request: Redis errors are
counted, logged once per interval, and back off for ``ERROR_BACKOFF`` seconds
so a dead Redis does not cost a connect timeout per request. A generation
bump that could not be written is retried, together with an epoch bump, as
soon as Redis answers again.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings
from redis.exceptions import NoScriptError

from enterprise.cache.conf import cache_settings
from enterprise.cache.entries import CachedResponse, now_ms
from enterprise.cache.keys import OBJECT_GENERATION_MARK, epoch_key, stats_key, with_generations

OBJECT_GENERATION_TTL = 24 * 3600

logger = logging.getLogger("enterprise.cache")

HIT, STALE, MISS, REBUILD, WAIT = "hit", "stale", "miss", "rebuild", "wait"


@dataclass(slots=True)
class Lookup:
    """The outcome of a response lookup.

    ``state`` is ``hit`` (fresh entry), ``stale`` (soft-expired entry while
    another worker rebuilds it), ``rebuild`` (soft-expired entry and this
    caller holds the lock), ``miss`` (no entry, this caller holds the lock) or
    ``wait`` (no entry, another worker is building it).
    """

    key: str
    state: str
    entry: CachedResponse | None


class Store(Protocol):
    name: str

    def lookup(self, gen_keys: list[str], base: str, resource: str) -> Lookup | None: ...
    def fetch(self, key: str) -> CachedResponse | None: ...
    def save(self, key: str, entry: CachedResponse, ttl_seconds: int, resource: str) -> None: ...
    def release(self, key: str) -> None: ...
    def bump(self, gen_keys: Iterable[str], resources: Iterable[str]) -> bool: ...
    def get_objects(
        self, gen_keys: list[str], object_gen_keys: list[str], bases: list[str]
    ) -> tuple[list[str], list[str], dict[str, bytes]]: ...
    def set_objects(self, items: dict[str, bytes], ttl_seconds: int) -> None: ...
    def counters(self) -> dict[str, int]: ...
    def count(self, resource: str, outcome: str, n: int = 1) -> None: ...


class _ErrorGate:
    """Counts store failures, logs one line per interval, and backs off after a failure."""

    def __init__(self) -> None:
        self.errors = 0
        self._last_log = 0.0
        self._suppressed = 0
        self._open_until = 0.0
        self._lock = threading.Lock()

    @property
    def backing_off(self) -> bool:
        return time.monotonic() < self._open_until

    def failed(self, exc: BaseException, operation: str) -> None:
        conf = cache_settings()
        with self._lock:
            self.errors += 1
            now = time.monotonic()
            self._open_until = now + conf["ERROR_BACKOFF"]
            if now - self._last_log >= conf["ERROR_LOG_INTERVAL"]:
                logger.warning(
                    "cache store unavailable during %s (%s: %s); answering from the database "
                    "(%d similar errors since the last report)",
                    operation,
                    type(exc).__name__,
                    str(exc)[:200],
                    self._suppressed,
                )
                self._last_log = now
                self._suppressed = 0
            else:
                self._suppressed += 1


# KEYS: epoch, generations...   ARGV: base, now_ms, lock_ms, stats_key, resource
_LOOKUP_SCRIPT = """
local gens = redis.call('MGET', unpack(KEYS))
for i = 1, #gens do if not gens[i] then gens[i] = '0' end end
local key = ARGV[1] .. '|' .. table.concat(gens, '.')
local entry = redis.call('GET', key)
if entry then
  local n = tonumber(string.sub(entry, 14, 18))
  if n > 0 then
    local dkeys, dvals = {}, {}
    for k, v in string.gmatch(string.sub(entry, 19, 18 + n), '([^;=]+)=([^;]*)') do
      dkeys[#dkeys + 1] = k
      dvals[#dvals + 1] = v
    end
    local current = redis.call('MGET', unpack(dkeys))
    for i = 1, #dkeys do
      if (current[i] or '0') ~= dvals[i] then entry = false break end
    end
  end
end
local state
if entry then
  if tonumber(string.sub(entry, 1, 13)) >= tonumber(ARGV[2]) then
    state = 'hit'
  elseif redis.call('SET', key .. '|lock', '1', 'NX', 'PX', ARGV[3]) then
    state = 'rebuild'
  else
    state = 'stale'
  end
elseif redis.call('SET', key .. '|lock', '1', 'NX', 'PX', ARGV[3]) then
  state = 'miss'
else
  state = 'wait'
end
redis.call('HINCRBY', ARGV[4], ARGV[5] .. ':' .. state, 1)
return {key, state, entry or false}
"""

# KEYS: common generations..., then one object generation per base   ARGV: n common, bases...
_OBJECTS_SCRIPT = """
local nc = tonumber(ARGV[1])
local gens = redis.call('MGET', unpack(KEYS))
for i = 1, #gens do if not gens[i] then gens[i] = '0' end end
local common = table.concat(gens, '.', 1, nc)
local keys, objgens = {}, {}
for i = 2, #ARGV do
  objgens[i - 1] = gens[nc + i - 1]
  keys[i - 1] = ARGV[i] .. '|' .. common .. '.' .. objgens[i - 1]
end
local values = redis.call('MGET', unpack(keys))
for i = 1, #values do if not values[i] then values[i] = false end end
return {keys, objgens, values}
"""


class RedisStore:
    """The shared store: every worker on every host sees the same generations and entries."""

    name = "redis"

    def __init__(self, client: Any) -> None:
        self.client = client
        self.gate = _ErrorGate()
        self._lookup = client.register_script(_LOOKUP_SCRIPT)
        self._objects = client.register_script(_OBJECTS_SCRIPT)
        self._pending_bumps: set[str] = set()
        self._pending_lock = threading.Lock()
        self._local = threading.local()

    def _eval_lookup(self, keys: list[str], args: list[Any]) -> Any:
        """EVALSHA on a connection this thread keeps: the hit path skips redis-py's pool
        bookkeeping (about a third of a hit's cost). Any failure drops the connection."""
        connection = getattr(self._local, "connection", None)
        if connection is None or getattr(self._local, "pid", None) != os.getpid():
            # Outside the pool's count: the connection lives and dies with this thread.
            pool = self.client.connection_pool
            connection = pool.connection_class(**pool.connection_kwargs)
            self._local.connection, self._local.pid = connection, os.getpid()
        try:
            connection.send_command("EVALSHA", self._lookup.sha, len(keys), *keys, *args)
            return connection.read_response()
        except Exception as exc:
            if isinstance(exc, NoScriptError):
                self.client.script_load(_LOOKUP_SCRIPT)
                connection.send_command("EVALSHA", self._lookup.sha, len(keys), *keys, *args)
                return connection.read_response()
            connection.disconnect()
            self._local.connection = None
            raise

    def _call(self, operation: str, default: Any, fn: Any) -> Any:
        if self.gate.backing_off:
            return default
        try:
            if self._pending_bumps:
                self._flush_pending()
            return fn()
        except Exception as exc:
            self.gate.failed(exc, operation)
            return default

    def _flush_pending(self) -> None:
        with self._pending_lock:
            pending, self._pending_bumps = self._pending_bumps, set()
        try:
            pipe = self.client.pipeline(transaction=False)
            for key in pending:
                pipe.incr(key)
            # Bumps were lost while the store was away: other workers may hold
            # entries that predate them, so invalidate everything once.
            pipe.incr(epoch_key())
            pipe.execute()
        except Exception:
            with self._pending_lock:
                self._pending_bumps |= pending
            raise

    def lookup(self, gen_keys: list[str], base: str, resource: str) -> Lookup | None:
        def run() -> Lookup:
            conf = cache_settings()
            key, state, raw = self._eval_lookup(
                gen_keys, [base, now_ms(), conf["LOCK_MS"], stats_key(), resource]
            )
            return Lookup(key.decode(), state.decode(), CachedResponse.decode(raw) if raw else None)

        return self._call("lookup", None, run)

    def fetch(self, key: str) -> CachedResponse | None:
        raw = self._call("fetch", None, lambda: self.client.get(key))
        return CachedResponse.decode(raw) if raw else None

    def save(self, key: str, entry: CachedResponse, ttl_seconds: int, resource: str) -> None:
        grace = cache_settings()["STALE_GRACE"]

        def run() -> None:
            pipe = self.client.pipeline(transaction=False)
            pipe.set(key, entry.encode(), px=(ttl_seconds + grace) * 1000)
            pipe.delete(f"{key}|lock")
            pipe.hincrby(stats_key(), f"{resource}:set", 1)
            pipe.execute()

        self._call("save", None, run)

    def release(self, key: str) -> None:
        """Give up the rebuild lock without storing (the response was not cacheable)."""
        self._call("release", None, lambda: self.client.delete(f"{key}|lock"))

    def bump(self, gen_keys: Iterable[str], resources: Iterable[str]) -> bool:
        keys = list(gen_keys)

        def run() -> bool:
            pipe = self.client.pipeline(transaction=False)
            for key in keys:
                pipe.incr(key)
                if OBJECT_GENERATION_MARK in key:
                    # Object generations are many; they may expire once no entry recorded
                    # under an older value can still be alive (entries live minutes).
                    pipe.expire(key, OBJECT_GENERATION_TTL)
            for resource in resources:
                pipe.hincrby(stats_key(), f"{resource}:invalidation", 1)
            pipe.execute()
            return True

        done = self._call("bump", False, run)
        if not done:
            with self._pending_lock:
                self._pending_bumps.update(keys)
        return done

    def get_objects(
        self, gen_keys: list[str], object_gen_keys: list[str], bases: list[str]
    ) -> tuple[list[str], list[str], dict[str, bytes]]:
        if not bases:
            return [], [], {}

        def run() -> tuple[list[str], list[str], dict[str, bytes]]:
            keys, gens, values = self._objects(
                keys=[*gen_keys, *object_gen_keys], args=[len(gen_keys), *bases]
            )
            found = {base: value for base, value in zip(bases, values, strict=True) if value}
            return [k.decode() for k in keys], [g.decode() for g in gens], found

        return self._call("get_objects", ([], [], {}), run)

    def set_objects(self, items: dict[str, bytes], ttl_seconds: int) -> None:
        if not items:
            return

        def run() -> None:
            pipe = self.client.pipeline(transaction=False)
            for key, value in items.items():
                pipe.set(key, value, ex=ttl_seconds)
            pipe.execute()

        self._call("set_objects", None, run)

    def count(self, resource: str, outcome: str, n: int = 1) -> None:
        self._call(
            "count", None, lambda: self.client.hincrby(stats_key(), f"{resource}:{outcome}", n)
        )

    def counters(self) -> dict[str, int]:
        raw = self._call("counters", {}, lambda: self.client.hgetall(stats_key()))
        return {k.decode(): int(v) for k, v in raw.items()}

    def bump_epoch(self) -> bool:
        return self._call("bump_epoch", False, lambda: bool(self.client.incr(epoch_key())))

    def info(self) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            memory = self.client.info("memory")
            return {"usedMemoryBytes": memory.get("used_memory"), "keys": self.client.dbsize()}

        return self._call("info", {}, run)


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

    def lookup(self, gen_keys: list[str], base: str, resource: str) -> Lookup | None:
        key = with_generations(base, [self._generation(k) for k in gen_keys])
        with self._mutex:
            raw = self._get(key)
            entry = CachedResponse.decode(raw) if raw is not None else None
            if entry is not None and entry.deps:
                current = self.generations(list(entry.deps))
                if current != list(entry.deps.values()):
                    entry = None
            if entry is not None:
                if entry.fresh_until_ms >= now_ms():
                    state = HIT
                else:
                    state = REBUILD if self._take_lock(key) else STALE
            else:
                entry = None
                state = MISS if self._take_lock(key) else WAIT
            self._stats[f"{resource}:{state}"] += 1
        return Lookup(key, state, entry)

    def fetch(self, key: str) -> CachedResponse | None:
        with self._mutex:
            raw = self._get(key)
        return CachedResponse.decode(raw) if raw else None

    def save(self, key: str, entry: CachedResponse, ttl_seconds: int, resource: str) -> None:
        with self._mutex:
            self._put(key, entry.encode(), ttl_seconds + cache_settings()["STALE_GRACE"])
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
        self, gen_keys: list[str], object_gen_keys: list[str], bases: list[str]
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
        return keys, gens, found

    def generations(self, keys: list[str]) -> list[str]:
        return [self._generation(k) for k in keys]

    def set_objects(self, items: dict[str, bytes], ttl_seconds: int) -> None:
        with self._mutex:
            for key, value in items.items():
                self._put(key, value, ttl_seconds)

    def count(self, resource: str, outcome: str, n: int = 1) -> None:
        with self._mutex:
            self._stats[f"{resource}:{outcome}"] += n

    def counters(self) -> dict[str, int]:
        with self._mutex:
            return dict(self._stats)

    def bump_epoch(self) -> bool:
        return self.bump([epoch_key()], [])

    def info(self) -> dict[str, Any]:
        with self._mutex:
            return {"keys": len(self._entries)}


_store: Store | None = None
_store_lock = threading.Lock()


def get_store() -> Store:
    """The process's store, built on first use (never at import, so a dead Redis cannot stop start-up)."""
    global _store
    if _store is None:
        with _store_lock:
            if _store is None:
                _store = _build_store()
    return _store


def reset_store() -> None:
    """Forget the process's store (tests, and after settings change)."""
    global _store
    _store = None
    cache_settings.cache_clear()


def _build_store() -> Store:
    if getattr(settings, "REDIS_URL", ""):
        from django_redis import get_redis_connection

        return RedisStore(get_redis_connection("default"))
    conf = cache_settings()
    directory = Path(conf["LOCAL_DIR"] or Path(settings.VAR_DIR) / "cache" / "generations")
    return LocalStore(directory, conf["LOCAL_MAX_ENTRIES"])
