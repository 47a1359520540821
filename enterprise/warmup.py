"""Work done once in gunicorn's master (``preload_app``), so that no forked worker pays it on a request."""

from __future__ import annotations

import gc

from django.apps import apps
from django.utils.functional import SimpleLazyObject, empty

#: The attributes under which Django's validators keep a lazily compiled pattern.
_PATTERN_ATTRIBUTES = ("regex", "user_regex", "domain_regex", "literal_regex")


def compile_validator_patterns() -> int:
    """Compile the lazy regular expressions of every model field's validators; return how many.

    Django compiles a validator's pattern on its first use. ``EmailValidator``'s
    domain pattern (every Unicode letter range) takes about 50 ms, with the GIL
    held: under load, py-spy showed a worker's first clinic write stalling all of
    its threads for half a second. Compiled here, before the fork, every worker
    inherits the compiled patterns (and DRF's email fields share the class's).
    """
    compiled = 0
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            for validator in field.validators:
                for name in _PATTERN_ATTRIBUTES:
                    pattern = getattr(validator, name, None)
                    if isinstance(pattern, SimpleLazyObject) and pattern._wrapped is empty:
                        pattern._setup()
                        compiled += 1
    return compiled


def freeze_startup_objects() -> int:
    """Move every object alive now into the collector's permanent generation; return how many.

    Called in gunicorn's master once the app is loaded, before any worker is
    forked (``gunicorn.conf.py``: ``when_ready``). The ~100,000 objects start-up
    leaves (modules, classes, URL patterns, serializers' fields, query plans)
    live as long as the worker, yet every full (generation 2) collection
    scanned them all, with the GIL held: about 65 ms per collection here,
    stalling every thread of the worker. Frozen, a full collection scans only
    what was made since: 12-15 ms. They come about three times as often (the
    collector starts one when the survivors since the last reach a quarter of
    what it tracks), so the CPU they take stays about the same; the longest
    stall a request can meet is what shrinks. No collection writes to the frozen
    objects' headers either, so their memory pages stay shared with the master
    instead of being copied into each worker: after 15 s of the benchmark's mix
    at 300 requests/s, a worker's private dirty memory was 37 MB instead of 56
    (PSS 54 MB instead of 66). ``python -m bench.replay`` reports the
    collections (``--no-freeze`` for the comparison).
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
