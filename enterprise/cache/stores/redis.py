"""The shared store: Redis, with the one-round-trip lookup and object scripts."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError

try:
    from hiredis import pack_command as _hiredis_pack
except ImportError:  # redis-py packs (hiredis is in requirements.txt; a bare install may lack it)
    _hiredis_pack = None

from enterprise.cache.conf import cache_settings
from enterprise.cache.entries import CachedResponse, now_ms
from enterprise.cache.keys import OBJECT_GENERATION_MARK, epoch_key, stats_key
from enterprise.cache.stores.base import OBJECT_GENERATION_TTL, Lookup, _ErrorGate

# KEYS: the key's generations..., then ARGV[6] watched generations
# ARGV: base, now_ms, lock_ms, stats hash, resource, number of watched generations
_LOOKUP_SCRIPT = """
local gens = redis.call('MGET', unpack(KEYS))
for i = 1, #gens do if not gens[i] then gens[i] = '0' end end
local nkey = #gens - tonumber(ARGV[6])
local key = ARGV[1] .. '|' .. table.concat(gens, '.', 1, nkey)
local watched = {}
for i = nkey + 1, #gens do watched[#watched + 1] = gens[i] end
local entry = redis.call('GET', key)
local outdated = false
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
      if (current[i] or '0') ~= dvals[i] then
        outdated = entry
        entry = false
        break
      end
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
return {key, state, entry or false, outdated, watched}
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


def _pack(connection: Any, commands: tuple[tuple[Any, ...], ...]) -> list[bytes]:
    """``commands`` in the Redis protocol, as one buffer.

    With hiredis, each command goes straight to ``hiredis.pack_command``: the
    store's arguments are only ``str``, ``bytes`` and ``int``, so redis-py's
    per-argument checks and buffer splitting around it have nothing to do (a
    19-argument lookup: 1.7 us instead of 4.8, timeit). Without hiredis,
    redis-py packs.
    """
    if _hiredis_pack is None:
        return connection.pack_commands(commands)
    return [b"".join([_hiredis_pack(command) for command in commands])]


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

    def _connection(self) -> Any:
        """This thread's own connection, outside the pool's count: it lives and dies with the
        thread (and is replaced in a forked child)."""
        connection = getattr(self._local, "connection", None)
        if connection is None or getattr(self._local, "pid", None) != os.getpid():
            pool = self.client.connection_pool
            connection = pool.connection_class(**pool.connection_kwargs)
            self._local.connection, self._local.pid = connection, os.getpid()
        return connection

    def _send(self, *commands: tuple[Any, ...]) -> list[Any]:
        """``commands`` in one write on this thread's connection, then every reply, raw.

        What a non-transactional pipeline does, minus the pool's bookkeeping on
        every checkout (a pid check and a poll for unread data): a cached miss's
        store step measured 169 -> 92 us of CPU. An error reply is raised once
        every reply has been read, so the connection stays in step; any other
        failure drops the connection. A connection error is retried once, at once,
        on a new connection (the pool's ``Retry(NoBackoff(), 1)``): a kept connection
        that a Redis restart broke heals without the store backing off. A timeout
        is not retried: a hung server costs one socket timeout.
        """
        try:
            return self._send_once(commands)
        except RedisConnectionError:
            return self._send_once(commands)

    def _send_once(self, commands: tuple[tuple[Any, ...], ...]) -> list[Any]:
        connection = self._connection()
        try:
            connection.send_packed_command(_pack(connection, commands))
            replies: list[Any] = []
            error: ResponseError | None = None
            for _ in commands:
                try:
                    replies.append(connection.read_response())
                except ResponseError as exc:
                    replies.append(exc)
                    error = error or exc
        except Exception:
            connection.disconnect()
            self._local.connection = None
            raise
        if error is not None:
            raise error
        return replies

    def _eval(self, script: Any, source: str, keys: list[str], args: list[Any]) -> Any:
        """EVALSHA of a registered script (loaded again if the server lost it)."""
        command = ("EVALSHA", script.sha, len(keys), *keys, *args)
        try:
            return self._send(command)[0]
        except NoScriptError:
            self.client.script_load(source)
            return self._send(command)[0]

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

    def lookup(
        self, gen_keys: list[str], base: str, resource: str, watch: tuple[str, ...] = ()
    ) -> Lookup | None:
        def run() -> Lookup:
            conf = cache_settings()
            key, state, raw, outdated, watched = self._eval(
                self._lookup,
                _LOOKUP_SCRIPT,
                [*gen_keys, *watch],
                [base, now_ms(), conf["LOCK_MS"], stats_key(), resource, len(watch)],
            )
            return Lookup(
                key.decode(),
                state.decode(),
                CachedResponse.decode_shared(raw) if raw else None,
                CachedResponse.decode(outdated) if outdated else None,
                dict(zip(watch, (g.decode() for g in watched), strict=True)),
            )

        return self._call("lookup", None, run)

    def fetch(self, key: str) -> CachedResponse | None:
        raw = self._call("fetch", None, lambda: self._send(("GET", key))[0])
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
            commands: list[tuple[Any, ...]] = [
                ("SET", key, encoded, "PX", (ttl_seconds + grace) * 1000)
            ]
            if shadow is not None:
                commands.append(("SET", shadow[0], encoded, "EX", shadow[1]))
            commands.append(("DEL", f"{key}|lock"))
            commands.append(("HINCRBY", stats_key(), f"{resource}:set", 1))
            self._send(*commands)

        self._call("save", None, run)

    def release(self, key: str) -> None:
        """Give up the rebuild lock without storing (the response was not cacheable)."""
        self._call("release", None, lambda: self._send(("DEL", f"{key}|lock")))

    def bump(self, gen_keys: Iterable[str], resources: Iterable[str]) -> bool:
        keys = list(gen_keys)

        def run() -> bool:
            commands: list[tuple[Any, ...]] = []
            for key in keys:
                commands.append(("INCR", key))
                if OBJECT_GENERATION_MARK in key:
                    # Object generations are many; they may expire once no entry recorded
                    # under an older value can still be alive (entries live minutes).
                    commands.append(("EXPIRE", key, OBJECT_GENERATION_TTL))
            for resource in resources:
                commands.append(("HINCRBY", stats_key(), f"{resource}:invalidation", 1))
            self._send(*commands)
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
            keys, gens, values = self._eval(
                self._objects,
                _OBJECTS_SCRIPT,
                [*gen_keys, *object_gen_keys],
                [len(gen_keys), stats_key(), f"{resource}:object_hit", *bases],
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
            commands: list[tuple[Any, ...]] = [
                ("SET", key, value, "EX", ttl_seconds) for key, value in items.items()
            ]
            if missed:
                commands.append(("HINCRBY", stats_key(), f"{resource}:object_miss", missed))
            self._send(*commands)

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
