"""The validator patterns compiled before gunicorn forks (``enterprise.warmup``)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from django.core.validators import EmailValidator
from django.utils.functional import empty

from clinics.models import Clinic
from enterprise.warmup import compile_validator_patterns


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
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "True"


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
