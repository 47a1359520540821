from __future__ import annotations

import pytest

from perfmon.recorder import Recorder, get_recorder, reset_recorder


@pytest.fixture
def recorder() -> Recorder:
    """This process's recorder on an emptied sink (Redis in scripts/test, files otherwise)."""
    reset_recorder()
    recorder = get_recorder()
    recorder.sink.reset()
    yield recorder
    recorder.sink.reset()
    reset_recorder()
