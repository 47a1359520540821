"""The shared store: Redis, with the one-round-trip lookup and object scripts."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from typing import Any

from redis.exceptions import NoScriptError

from enterprise.cache.conf import cache_settings
from enterprise.cache.entries import CachedResponse, now_ms
from enterprise.cache.keys import OBJECT_GENERATION_MARK, epoch_key, stats_key
from enterprise.cache.stores.base import OBJECT_GENERATION_TTL, Lookup, _ErrorGate

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

# KEYS: common generations..., then one object generation per base
# ARGV: n common, stats hash, stats field (object hits), bases...
_OBJECTS_SCRIPT = """
local nc = tonumber(ARGV[1])
local gens = redis.call('MGET', unpack(KEYS))
for i = 1, #gens do if not gens[i] then gens[i] = '0' end end
local common = table.concat(gens, '.', 1, nc)
local keys, objgens = {}, {}
for i = 4, #ARGV do
  objgens[i - 3] = gens[nc + i - 3]
  keys[i - 3] = ARGV[i] .. '|' .. common .. '.' .. objgens[i - 3]
end
local values = redis.call('MGET', unpack(keys))
local found = 0
for i = 1, #values do
  if values[i] then found = found + 1 else values[i] = false end
end
if found > 0 then redis.call('HINCRBY', ARGV[2], ARGV[3], found) end
return {keys, objgens, values}
"""


class RedisStore:
    """The shared store: every worker on every host sees the same generations and entries."""

    name = "redis"

    def __init__(self, client: Any) -> None:
        self.client = client
        self.gate = _ErrorGate("redis")
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
            result = fn()
        except Exception as exc:
            self.gate.failed(exc, operation)
            return default
        self.gate.succeeded()
        return result

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
            return Lookup(
                key.decode(), state.decode(), CachedResponse.decode_shared(raw) if raw else None
            )

        return self._call("lookup", None, run)

    def fetch(self, key: str) -> CachedResponse | None:
        raw = self._call("fetch", None, lambda: self.client.get(key))
        return CachedResponse.decode_shared(raw) if raw else None

    def save(
        self,
        key: str,
        entry: CachedResponse,
        ttl_seconds: int,
        resource: str,
        shadow: tuple[str, int] | None = None,
    ) -> None:
        grace = cache_settings()["STALE_GRACE"]

        def run() -> None:
            encoded = entry.encode()
            pipe = self.client.pipeline(transaction=False)
            pipe.set(key, encoded, px=(ttl_seconds + grace) * 1000)
            if shadow is not None:
                pipe.set(shadow[0], encoded, ex=shadow[1])
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
        self, gen_keys: list[str], object_gen_keys: list[str], bases: list[str], resource: str
    ) -> tuple[list[str], list[str], dict[str, bytes]]:
        if not bases:
            return [], [], {}

        def run() -> tuple[list[str], list[str], dict[str, bytes]]:
            keys, gens, values = self._objects(
                keys=[*gen_keys, *object_gen_keys],
                args=[len(gen_keys), stats_key(), f"{resource}:object_hit", *bases],
            )
            found = {base: value for base, value in zip(bases, values, strict=True) if value}
            return [k.decode() for k in keys], [g.decode() for g in gens], found

        return self._call("get_objects", ([], [], {}), run)

    def set_objects(
        self, items: dict[str, bytes], ttl_seconds: int, resource: str, missed: int
    ) -> None:
        if not items and not missed:
            return

        def run() -> None:
            pipe = self.client.pipeline(transaction=False)
            for key, value in items.items():
                pipe.set(key, value, ex=ttl_seconds)
            if missed:
                pipe.hincrby(stats_key(), f"{resource}:object_miss", missed)
            pipe.execute()

        self._call("set_objects", None, run)

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
