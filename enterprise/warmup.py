"""Work done once in gunicorn's master (``preload_app``), so that no forked worker pays it on a request."""

from __future__ import annotations

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
