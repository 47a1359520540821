"""Route templates (``/api/v1/clinics/{id}``): what request metrics are grouped by, never raw paths.

Raw paths carry ids, so grouping by them would make one series per object
and would put identifiers into metrics; the URL pattern that matched does not.
"""

from __future__ import annotations

import re
from functools import lru_cache

from django.urls import ResolverMatch

UNMATCHED = "unmatched"
_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")
_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")


@lru_cache(maxsize=512)
def template_from_pattern(route: str) -> str:
    """``api/v1/clinics/(?P<id>[0-9a-f]{24})/?$`` -> ``/api/v1/clinics/{id}``."""
    if ".*" in route:
        return UNMATCHED  # the JSON 404 catch-all
    text = _CONVERTER.sub(r"{\1}", _GROUP.sub(r"{\1}", route))
    text = text.replace("^", "").replace("/?$", "").replace("$", "").rstrip("/")
    return "/" + text.lstrip("/")


def route_template(match: ResolverMatch | None) -> str:
    if match is None or not match.route:
        return UNMATCHED
    return template_from_pattern(match.route)
