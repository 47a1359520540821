"""Refreshing a page whose embedded objects (or row objects) changed, without running its view.

A provider's clinics page is keyed on the generations of that provider's
assignments; the clinics rendered inside it are recorded in the entry
(``CachedResponse.deps``) and checked on every hit. Renaming one of those
clinics leaves the page's rows (which assignments, in which order, the
cursors) exactly as they were, yet made every page that embeds the clinic a
full miss: the view ran its query again to rebuild what the entry already
held. Under the benchmark's 5 % renames, which land on the busiest tenants,
almost no provider-clinics page lived long enough to be read twice.

Here such an entry (``Lookup.outdated``: found under the current key, only
its recorded objects moved) is, while still fresh, refreshed instead: its rows
are kept, each row's embedded object is replaced by the current representation
from the object cache (the policy's ``load_embedded`` getter: one store
round trip, and one ``pk__in`` query for the objects not cached, such as the
renamed one), rows whose object the caller can no longer see are left out
(as the view does), and the page is rendered, compressed and stored again
with the new object generations. The result is byte for byte what the view
would return (a test pins it). The refreshed entry keeps the outdated one's
creation time and freshness deadline, so the TTL still bounds how long rows
read once can be served.

A list of clinics is the same case with the row itself as the object: keyed on
its membership (``CachePolicy.row_objects``: the counts generations, which a
rename leaves alone), stored by the view with the scope's list generation as
its one dependency, and, once any write moves that, refreshed row by row from
the object cache, after which each row's own generation is recorded instead.
"""

from __future__ import annotations

import orjson

from enterprise.api.renderers import FastJSONRenderer
from enterprise.cache.entries import CachedResponse, now_ms
from enterprise.cache.gate import Prepared
from enterprise.cache.stores import Lookup
from enterprise.http import gzip_for_storage, weak_etag_for_key

_RENDERER = FastJSONRenderer()


def generations_etag(key: str, deps: dict[str, str]) -> str:
    """The weak ETag of a response stored under ``key`` with embedded objects at ``deps``."""
    if not deps:
        return weak_etag_for_key(key)
    recorded = ";".join(f"{k}={v}" for k, v in sorted(deps.items()))
    return weak_etag_for_key(f"{key}|{recorded}")


def refreshed_entry(prepared: Prepared, lookup: Lookup) -> CachedResponse | None:
    """``lookup.outdated`` with current objects, or ``None`` when the view must run.

    ``None`` for anything but a JSON page of rows that each embed one object
    under the policy's ``embedded_field``, or (a membership-keyed list,
    ``CachePolicy.row_objects``) rows that each are one object, possibly
    projected to some of its fields (``?fields=``). Store errors degrade as in
    the view (the object getter loads from the database and records
    ``unavailable``); a database error propagates to the caller.
    """
    policy, outdated = prepared.policy, lookup.outdated
    if outdated is None or outdated.status != 200:
        return None
    field = policy.embedded_field
    load = policy.load_embedded if field is not None else policy.row_objects
    if load is None or (field is None and not prepared.watch):
        return None
    if outdated.fresh_until_ms < now_ms():
        return None  # past its TTL: its rows are re-read, as for any expired entry
    page = orjson.loads(outdated.identity_body())
    rows = page.get("results") if isinstance(page, dict) else None
    if not isinstance(rows, list) or not all(
        isinstance(row, dict) and isinstance(row.get(field) if field else row, dict) for row in rows
    ):
        return None
    objects_of = [row[field] if field else row for row in rows]
    if not all("id" in obj for obj in objects_of):
        return None
    deps: dict[str, str] = {}
    objects = load(
        scope=prepared.user.scope, ids=[obj["id"] for obj in objects_of], dependencies=deps
    )
    if field is not None:
        # The key keeps its place in each row: the row is the one the view rendered.
        page["results"] = [
            {**row, field: objects[row[field]["id"]]} for row in rows if row[field]["id"] in objects
        ]
    else:
        results = []
        for row in rows:
            current = objects.get(row["id"])
            if current is None:
                continue
            if not current.keys() >= row.keys():
                return None
            results.append({name: current[name] for name in row})  # the row's own fields, in order
        page["results"] = results
    content = _RENDERER.render(page)
    compressed = gzip_for_storage(content)
    etag = generations_etag(lookup.key, deps)
    headers = {
        name: etag if name.lower() == "etag" else value for name, value in outdated.headers.items()
    }
    return CachedResponse(
        status=200,
        content_type=outdated.content_type,
        body=compressed if compressed is not None else content,
        fresh_until_ms=outdated.fresh_until_ms,
        created_ms=outdated.created_ms,
        headers=headers,
        gzipped=compressed is not None,
        deps=deps,
    )
