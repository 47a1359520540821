"""Content negotiation that remembers its answer per Accept header.

DRF's ``DefaultContentNegotiation`` reads ``request.headers`` (which builds a
dictionary of every header the request carries) and parses the Accept header
into media types, on every request. Its answer depends only on the header,
the format override and the view's renderer classes, so this subclass keeps
the answer (which renderer, which media type) for each combination it has
negotiated, reading the header straight from ``META``. In ``bench.replay``'s
profile of the benchmark mix, negotiation was about 2% of the CPU (misses
only: a cache hit never reaches DRF).

Bounded: at most ``MAX_ANSWERS`` combinations per process (the table starts
over when full), and only headers up to ``MAX_HEADER_LENGTH`` characters are
remembered, so clients sending ever-new headers cost memory nothing and time
only the negotiation DRF would have done anyway. Failures (406, an unknown
``?format=``) are not remembered: they raise again, through DRF, every time.
"""

from __future__ import annotations

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

MAX_ANSWERS = 256
MAX_HEADER_LENGTH = 256

_answers: dict[tuple[str, str | None, tuple[type, ...]], tuple[int, str]] = {}


class RememberingContentNegotiation(DefaultContentNegotiation):
    def select_renderer(
        self, request: Request, renderers: list[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        header = request.META.get("HTTP_ACCEPT", "*/*")
        if len(header) > MAX_HEADER_LENGTH:
            return super().select_renderer(request, renderers, format_suffix)
        key = (
            header,
            format_suffix or request.query_params.get(self.settings.URL_FORMAT_OVERRIDE),
            tuple(type(renderer) for renderer in renderers),
        )
        answer = _answers.get(key)
        if answer is not None:
            index, media_type = answer
            return renderers[index], media_type
        renderer, media_type = super().select_renderer(request, renderers, format_suffix)
        if len(_answers) >= MAX_ANSWERS:
            _answers.clear()
        _answers[key] = (renderers.index(renderer), media_type)  # renderers compare by identity
        return renderer, media_type
