"""``RememberingContentNegotiation`` answers exactly what DRF's negotiation answers, remembered or not."""

from __future__ import annotations

import pytest
from django.http import Http404
from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from enterprise.api import negotiation
from enterprise.api.negotiation import RememberingContentNegotiation
from enterprise.api.renderers import FastJSONRenderer

HEADERS = [
    None,
    "*/*",
    "application/json",
    "application/json; indent=4",
    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "application/*;q=0.5, text/html",
    "text/html",
    "image/png",
]


@pytest.fixture(autouse=True)
def fresh_answers():
    negotiation._answers.clear()
    yield
    negotiation._answers.clear()


def _request(accept: str | None, query: str = "") -> Request:
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    return Request(APIRequestFactory().get(f"/api/v1/clinics{query}", **headers))


def _negotiate(negotiator, accept, renderers, query="", format_suffix=None):
    try:
        renderer, media_type = negotiator.select_renderer(
            _request(accept, query), renderers, format_suffix
        )
    except (exceptions.NotAcceptable, Http404) as error:  # Http404: an unknown ?format=
        return type(error).__name__
    return renderers.index(renderer), media_type


@pytest.mark.parametrize("accept", HEADERS)
@pytest.mark.parametrize("query", ["", "?format=json", "?format=api", "?format=xml"])
@pytest.mark.parametrize("browsable", [False, True])
def test_answers_match_drf_the_first_time_and_from_memory(accept, query, browsable):
    def renderers():
        return [FastJSONRenderer(), BrowsableAPIRenderer()] if browsable else [FastJSONRenderer()]

    expected = _negotiate(DefaultContentNegotiation(), accept, renderers(), query)
    remembering = RememberingContentNegotiation()
    first = _negotiate(remembering, accept, renderers(), query)
    again = _negotiate(remembering, accept, renderers(), query)
    assert first == again == expected
    # Successes are remembered (keyed by header, format and renderer classes); failures are not.
    assert len(negotiation._answers) == (0 if isinstance(expected, str) else 1)


def test_the_renderer_instance_of_this_request_is_returned():
    remembering = RememberingContentNegotiation()
    for _ in range(2):
        renderers = [FastJSONRenderer(), BrowsableAPIRenderer()]
        renderer, _ = remembering.select_renderer(_request("text/html"), renderers)
        assert renderer is renderers[1]


def test_the_table_is_bounded_and_long_headers_are_never_remembered(monkeypatch):
    monkeypatch.setattr(negotiation, "MAX_ANSWERS", 3)
    remembering = RememberingContentNegotiation()
    for index in range(7):
        remembering.select_renderer(_request(f"application/json; v={index}"), [FastJSONRenderer()])
        assert len(negotiation._answers) <= 3
    negotiation._answers.clear()
    long = "application/json, " + ",".join(f"text/x-{i}" for i in range(60))
    assert len(long) > negotiation.MAX_HEADER_LENGTH
    renderer, media_type = remembering.select_renderer(_request(long), [FastJSONRenderer()])
    assert media_type == "application/json" and negotiation._answers == {}


def test_an_unacceptable_accept_header_is_a_json_406_every_time(api, tenant_a):
    client = api("member", tenant_a.id)
    for _ in range(2):
        response = client.get("/api/v1/clinics", HTTP_ACCEPT="image/png")
        assert response.status_code == 406
        assert response["Content-Type"] == "application/json"
        assert response.json()["error"]["code"] == "not_acceptable"
    assert client.get("/api/v1/clinics", HTTP_ACCEPT="application/json").status_code == 200
