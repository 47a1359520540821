"""Work done before gunicorn forks (``enterprise.warmup``): validator patterns, frozen start-up objects."""

from __future__ import annotations

import subprocess
import sys

import pytest
from django.core.validators import EmailValidator
from django.utils.functional import empty

from clinics.models import Clinic
from enterprise.warmup import compile_validator_patterns


def last_line_printed_by(probe: str) -> str:
    """Run ``probe`` in a fresh interpreter (as gunicorn's master starts) and return its last line."""
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    return out.stdout.strip().splitlines()[-1]


@pytest.fixture
def uncompiled_email_patterns(monkeypatch: pytest.MonkeyPatch) -> None:
    """EmailValidator's class-level patterns as a fresh process has them: not yet compiled."""
    for name in ("user_regex", "domain_regex", "literal_regex"):
        monkeypatch.setattr(getattr(EmailValidator, name), "_wrapped", empty)


def test_a_fresh_process_has_them_compiled_once_the_wsgi_module_is_imported() -> None:
    # gunicorn imports the module in its master (preload_app); workers fork from it.
    probe = (
        "import enterprise.wsgi\n"
        "from django.core.validators import EmailValidator\n"
        "from django.utils.functional import empty\n"
        "print(EmailValidator.domain_regex._wrapped is not empty)\n"
    )
    assert last_line_printed_by(probe) == "True"


@pytest.mark.usefixtures("uncompiled_email_patterns")
def test_every_lazy_pattern_of_a_model_validator_is_compiled_once() -> None:
    email = next(v for v in Clinic._meta.get_field("email").validators)
    assert isinstance(email, EmailValidator)
    assert EmailValidator.domain_regex._wrapped is empty

    # At least user, domain and literal: the class's patterns, shared by every EmailValidator.
    assert compile_validator_patterns() >= 3
    for name in ("user_regex", "domain_regex", "literal_regex"):
        assert getattr(EmailValidator, name)._wrapped is not empty
    assert compile_validator_patterns() == 0
    email("front-desk@clinic.example.com")  # still validates, with the compiled patterns


def test_start_up_objects_are_frozen_out_of_full_collections() -> None:
    # What gunicorn.conf.py's when_ready does in the master, in a fresh process.
    probe = (
        "import gc\n"
        "import enterprise.wsgi\n"
        "from enterprise.warmup import freeze_startup_objects\n"
        "gc.collect()\n"
        "before = len(gc.get_objects(generation=2))\n"
        "frozen = freeze_startup_objects()\n"
        "gc.collect()\n"
        "print(before, frozen, gc.get_freeze_count(), len(gc.get_objects(generation=2)))\n"
    )
    before, frozen, still_frozen, scanned = map(int, last_line_printed_by(probe).split())
    assert before > 10_000  # the app's modules, classes, URL patterns, fields...
    assert frozen >= before * 0.9
    assert still_frozen == frozen  # a later full collection leaves them frozen
    assert scanned < before // 20  # and no longer scans them
