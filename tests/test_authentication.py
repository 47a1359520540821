"""Bearer-token authentication is fail-closed: every malformed or forged token is a 401."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from django.conf import settings
from rest_framework.test import APIClient

from enterprise.api import authentication

pytestmark = pytest.mark.django_db


def _client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def _claims(**overrides: object) -> dict:
    claims = {"sub": "alice", "roles": ["platform_admin"], "exp": int(time.time()) + 300}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _hs256(claims: dict, key: str | None = None) -> str:
    return jwt.encode(claims, key or settings.JWT_SECRET, algorithm="HS256")


def test_valid_platform_token_lists_organizations(tenant_a):
    response = _client(_hs256(_claims())).get("/api/v1/organizations")
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [tenant_a.id]


def test_no_token_is_401_with_bearer_challenge(db):
    response = APIClient().get("/api/v1/organizations")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize(
    "token_maker",
    [
        pytest.param(
            lambda: _hs256(_claims(), key="another-secret-that-is-long-enough-0123456789"),
            id="wrong-key",
        ),
        pytest.param(lambda: _hs256(_claims(exp=int(time.time()) - 3600)), id="expired"),
        pytest.param(lambda: _hs256(_claims(exp=None)), id="missing-exp"),
        pytest.param(lambda: _hs256(_claims(sub=None)), id="missing-sub"),
        pytest.param(lambda: _hs256(_claims(roles=None)), id="missing-roles"),
        pytest.param(lambda: _hs256(_claims(roles=["superuser"])), id="unknown-role"),
        pytest.param(lambda: _hs256(_claims(roles="member")), id="member-without-org"),
        pytest.param(
            lambda: _hs256(_claims(roles=["org_admin"], org="not-an-id")), id="malformed-org"
        ),
        pytest.param(lambda: _hs256(_claims(roles=[1, 2])), id="roles-not-strings"),
        pytest.param(lambda: _hs256(_claims(sub="")), id="empty-sub"),
        pytest.param(lambda: "not.a.token", id="garbage"),
        pytest.param(lambda: _unsigned(_claims()), id="alg-none"),
    ],
)
def test_forged_or_incomplete_tokens_are_401(db, token_maker):
    response = _client(token_maker()).get("/api/v1/organizations")
    assert response.status_code == 401
    assert set(response.json()["error"]) == {"code", "message", "fields"}


def _unsigned(claims: dict) -> str:
    def part(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def test_header_without_token_is_401(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer")
    assert client.get("/api/v1/organizations").status_code == 401


@pytest.fixture
def rsa_keys(settings, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    settings.JWT_PUBLIC_KEY = public_pem.decode()
    authentication.verification_key.cache_clear()
    yield private_pem, public_pem
    authentication.verification_key.cache_clear()


def test_rs256_tokens_verify_with_the_public_key(tenant_a, rsa_keys):
    private_pem, _ = rsa_keys
    token = jwt.encode(_claims(), private_pem, algorithm="RS256")
    assert _client(token).get("/api/v1/organizations").status_code == 200


def test_algorithm_confusion_hs256_signed_with_public_key_is_refused(tenant_a, rsa_keys):
    _, public_pem = rsa_keys
    # The classic attack: an HS256 token whose HMAC key is the server's public key.
    header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=")
    payload = base64.urlsafe_b64encode(json.dumps(_claims()).encode()).rstrip(b"=")
    import hashlib
    import hmac

    signature = base64.urlsafe_b64encode(
        hmac.new(public_pem, header + b"." + payload, hashlib.sha256).digest()
    ).rstrip(b"=")
    token = b".".join([header, payload, signature]).decode()
    assert _client(token).get("/api/v1/organizations").status_code == 401


def test_hs256_token_is_refused_when_a_public_key_is_configured(tenant_a, rsa_keys):
    assert _client(_hs256(_claims())).get("/api/v1/organizations").status_code == 401


def test_writes_verify_a_token_once_per_process(tenant_a, monkeypatch):
    """Writes share the read path's memo of verified tokens: one signature check per token."""
    calls = []
    decode = authentication.decode_token
    monkeypatch.setattr(
        authentication, "decode_token", lambda token: calls.append(token) or decode(token)
    )
    token = _hs256(_claims(roles=["org_admin"], org=tenant_a.id, sub="memo-writer"))
    client = _client(token)
    clinic = f"/api/v1/clinics/{tenant_a.clinics[0].pk}"
    for name in ("First", "Second", "Third"):
        assert client.patch(clinic, {"name": name}, format="json").status_code == 200
    assert calls == [token]
    head, _, signature = token.rpartition(".")
    tampered = ("B" if signature[0] == "A" else "A") + signature[1:]  # a data bit, not padding
    forged = _client(f"{head}.{tampered}")
    assert forged.patch(clinic, {"name": "Forged"}, format="json").status_code == 401
