"""perfmon.access_log.AccessLogger writes the same access lines as gunicorn's own Logger."""

from __future__ import annotations

import io
from datetime import timedelta
from types import SimpleNamespace

import pytest
from gunicorn import glogging
from gunicorn.config import Config

from perfmon.access_log import AccessLogger
from tests.conftest import shipped_gunicorn_settings

SHIPPED = shipped_gunicorn_settings()
SHIPPED_FORMAT = SHIPPED["access_log_format"]

FORMATS = [
    SHIPPED_FORMAT,
    Config().access_log_format,  # gunicorn's default (combined)
    '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"',
    "%(m)s %(U)s?%(q)s %(H)s %(B)s %(b)s %(T)s %(D)s %(M)s %(L)s %(p)s",
    # header and environ atoms: any case, missing ones, repeated ones, quotes to escape
    "%({X-Request-Id}o)s %({x-cache}o)s %({Set-Cookie}o)s %({absent}o)s",
    "%({user-agent}i)s %({X-Forwarded-For}i)s %({absent}i)s",
    "%({remote_addr}e)s %({SERVER_NAME}e)s %({wsgi.absent}e)s %({}e)s",
    "%(z)s %(h)s %(h)s no atoms %% here",
]


def _request(*, basic_auth: bool, sent: int | None) -> tuple[object, object, dict, timedelta]:
    headers = [
        ("HOST", "127.0.0.1:3017"),
        ("USER-AGENT", 'curl/8 "quoted"'),
        ("X-FORWARDED-FOR", "10.0.0.1"),
        ("X-FORWARDED-FOR", "10.0.0.2"),
    ]
    environ = {
        "REMOTE_ADDR": "127.0.0.1",
        "REQUEST_METHOD": "PATCH",
        "RAW_URI": "/api/v1/clinics/abc?x=1",
        "PATH_INFO": "/api/v1/clinics/abc",
        "QUERY_STRING": "x=1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "SERVER_NAME": "127.0.0.1",
        "HTTP_USER_AGENT": 'curl/8 "quoted"',
        "HTTP_REFERER": "http://example.test/",
        "wsgi.url_scheme": "http",
    }
    if basic_auth:
        environ["HTTP_AUTHORIZATION"] = "Basic YWxpY2U6c2VjcmV0"  # alice:secret
    response = SimpleNamespace(
        status="412 Precondition Failed",
        sent=sent,
        headers=[
            ("Content-Type", "application/json"),
            ("X-Request-Id", "req-1"),
            ("Set-Cookie", "a=1"),
            ("Set-Cookie", "b=2"),
            ("X-Cache", "MISS"),
        ],
    )
    return (
        response,
        SimpleNamespace(headers=headers),
        environ,
        timedelta(seconds=2, microseconds=34567),
    )


def _line(logger_class: type[glogging.Logger], access_format: str, request: tuple) -> str:
    config = Config()
    config.set("accesslog", "-")
    config.set("access_log_format", access_format)
    logger = logger_class(config)
    stream = io.StringIO()
    for handler in logger.access_log.handlers:
        if getattr(handler, "_gunicorn", False):  # not pytest's capture handlers
            handler.stream = stream
    logger.now = lambda: "[06/Dec/2026:01:00:00 +0000]"  # one clock for both
    logger.access(*request)
    return stream.getvalue()


@pytest.mark.parametrize("access_format", FORMATS)
@pytest.mark.parametrize("basic_auth", [False, True])
@pytest.mark.parametrize("sent", [None, 0, 1234])
def test_lines_are_gunicorns(access_format: str, basic_auth: bool, sent: int | None) -> None:
    request = _request(basic_auth=basic_auth, sent=sent)
    expected = _line(glogging.Logger, access_format, request)
    assert expected.strip(), "gunicorn wrote no line: the comparison would prove nothing"
    assert _line(AccessLogger, access_format, request) == expected


def test_shipped_configuration_uses_it() -> None:
    assert SHIPPED["logger_class"] == "perfmon.access_log.AccessLogger"
    line = _line(AccessLogger, SHIPPED_FORMAT, _request(basic_auth=False, sent=1234))
    assert line == (
        '{"remote": "127.0.0.1", "method": "PATCH", "path": "/api/v1/clinics/abc", '
        '"status": 412, "bytes": "1234", "duration_ms": 2034, "request_id": "req-1"}\n'
    )


def test_nothing_is_built_when_access_logging_is_off() -> None:
    config = Config()  # no accesslog: gunicorn's default
    logger = AccessLogger(config)
    logger.atoms = lambda *args: pytest.fail("atoms built with the access log off")  # type: ignore[method-assign]
    logger.access(*_request(basic_auth=False, sent=1))
