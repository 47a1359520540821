"""Capture the MongoDB pipelines the real endpoints build, without a server.

The API runs unchanged on a ``mongodb://`` DATABASE_URL; at the point where
django-mongodb-backend would send ``aggregate`` to the server
(``aggregate`` on the collection the connection hands out), the collection name and compiled pipeline are
recorded and an empty cursor is returned. Nothing here pretends to store or
match data: responses are empty lists or 404s and the tests assert only the
pipelines. Data behaviour on MongoDB is covered by the whole suite when
``MONGODB_URI`` points at a live server.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.conf import settings

pytestmark = pytest.mark.mql


@dataclass
class CapturedQuery:
    collection: str
    pipeline: list[dict]


class _EmptyCursor:
    def __iter__(self):
        return iter(())

    def next(self):
        raise StopIteration


@pytest.fixture
def captured_pipelines(monkeypatch, django_db_blocker) -> list[CapturedQuery]:
    if not settings.IS_MONGODB:
        pytest.skip("runs in the MongoDB lane (DATABASE_URL=mongodb://...)")
    from django_mongodb_backend.base import DatabaseWrapper

    captured: list[CapturedQuery] = []

    class _CapturingCollection:
        def __init__(self, name: str) -> None:
            self.name = name

        def aggregate(self, pipeline, *args, **kwargs):
            captured.append(CapturedQuery(self.name, list(pipeline)))
            return _EmptyCursor()

    # Every read the backend compiles, and the hand-written summary aggregate, asks the
    # connection for its collection (which would connect first) and then aggregates.
    monkeypatch.setattr(
        DatabaseWrapper, "get_collection", lambda self, name, **kwargs: _CapturingCollection(name)
    )
    # The request-level reachability check pings the server; there is none in this lane
    # (it is tested against a black-holed MongoDB in tests/resilience/test_workers.py).
    monkeypatch.setattr("enterprise.resilience.budgets._mongodb_reachable", lambda connection: None)
    with django_db_blocker.unblock():
        yield captured
