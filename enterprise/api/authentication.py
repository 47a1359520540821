"""Bearer JWT authentication that yields the caller's tenant ``Scope``.

Fail-closed: a token is accepted only when it verifies with the configured key
under the one algorithm family configured (HS256 with ``JWT_SECRET``; RS256 or
ES256 with a public key), is unexpired, and carries ``sub``, ``roles``,
``exp`` and, for every role but ``platform_admin``, a valid ``org``. ``alg:
none`` and algorithm confusion are refused because the accepted algorithm
list is fixed by the key, never read from the token.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Any

import jwt
from django.conf import settings
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from enterprise.fields import is_object_id
from enterprise.tenancy import Role, Scope

# Most privileged first: a token with several roles acts with the strongest.
_ROLE_ORDER = (Role.PLATFORM_ADMIN, Role.ORG_ADMIN, Role.MEMBER)
_REQUIRED_CLAIMS = ["exp", "sub", "roles"]


@dataclass(frozen=True, slots=True)
class TokenUser:
    """The authenticated API caller (``request.user``): no database row behind it."""

    scope: Scope
    claims: dict[str, Any]

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False

    @property
    def pk(self) -> str:
        return self.scope.subject

    @property
    def username(self) -> str:
        return self.scope.subject


@functools.cache
def verification_key() -> tuple[Any, list[str]]:
    """The key and the single algorithm accepted, from settings (cached per process)."""
    public_pem = settings.JWT_PUBLIC_KEY
    if not public_pem and settings.JWT_PUBLIC_KEY_FILE:
        with open(settings.JWT_PUBLIC_KEY_FILE, encoding="ascii") as fh:
            public_pem = fh.read()
    if public_pem:
        from cryptography.hazmat.primitives.asymmetric import ec, rsa
        from cryptography.hazmat.primitives.serialization import load_pem_public_key

        key = load_pem_public_key(public_pem.replace("\\n", "\n").encode())
        if isinstance(key, rsa.RSAPublicKey):
            return key, ["RS256"]
        if isinstance(key, ec.EllipticCurvePublicKey):
            return key, ["ES256"]
        raise ValueError("JWT_PUBLIC_KEY: only RSA and EC (P-256) public keys are supported")
    return settings.JWT_SECRET, ["HS256"]


def scope_from_claims(claims: dict[str, Any]) -> Scope:
    """Validate the claims' shape and build the scope; ``AuthenticationFailed`` if anything is off."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject.strip() or len(subject) > 200:
        raise exceptions.AuthenticationFailed("Token claim 'sub' must be a non-empty string.")
    raw_roles = claims.get("roles")
    if isinstance(raw_roles, str):
        raw_roles = [raw_roles]
    if not isinstance(raw_roles, list) or not all(isinstance(r, str) for r in raw_roles):
        raise exceptions.AuthenticationFailed("Token claim 'roles' must be a list of strings.")
    role = next((r for r in _ROLE_ORDER if r.value in raw_roles), None)
    if role is None:
        raise exceptions.AuthenticationFailed("Token carries no role this service knows.")
    org = claims.get("org")
    if role is Role.PLATFORM_ADMIN:
        return Scope(role=role, organization_id=None, subject=subject)
    if not is_object_id(org):
        raise exceptions.AuthenticationFailed("Token claim 'org' must be an organization id.")
    return Scope(role=role, organization_id=org.lower(), subject=subject)


def decode_token(token: str) -> dict[str, Any]:
    key, algorithms = verification_key()
    options: dict[str, Any] = {"require": list(_REQUIRED_CLAIMS)}
    kwargs: dict[str, Any] = {}
    if settings.JWT_AUDIENCE:
        kwargs["audience"] = settings.JWT_AUDIENCE
        options["require"].append("aud")
    else:
        options["verify_aud"] = False
    if settings.JWT_ISSUER:
        kwargs["issuer"] = settings.JWT_ISSUER
        options["require"].append("iss")
    try:
        return jwt.decode(token, key, algorithms=algorithms, options=options, leeway=10, **kwargs)
    except jwt.ExpiredSignatureError:
        raise exceptions.AuthenticationFailed("Token has expired.", code="token_expired") from None
    except jwt.MissingRequiredClaimError as exc:
        raise exceptions.AuthenticationFailed(
            f"Token is missing the '{exc.claim}' claim."
        ) from None
    except jwt.PyJWTError:
        raise exceptions.AuthenticationFailed("Token is invalid.", code="token_invalid") from None


class JWTAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <jwt>``; no header means anonymous (then 401 from permissions)."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[TokenUser, str] | None:
        verified = getattr(request._request, "_verified_token_user", None)
        if verified is not None:  # already verified by the response-cache middleware
            return verified, ""
        # Writes and uncached reads: the same per-process memo of verified tokens (a
        # signature check is ~5 % of a PATCH); a bad token falls through to the checks
        # below, which say what is wrong with it.
        remembered = authenticate_request_header(request._request)
        if remembered is not None:
            return remembered, ""
        header = authentication.get_authorization_header(request)
        if not header:
            return None
        parts = header.split()
        if parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Authorization header must be 'Bearer <token>'.")
        try:
            token = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Token is invalid.") from None
        claims = decode_token(token)
        return TokenUser(scope=scope_from_claims(claims), claims=claims), token

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'


_VERIFIED_MAX = 10_000
_verified: dict[str, tuple[object, TokenUser]] = {}


def verify_bearer_header(header: str) -> TokenUser | None:
    """Verify ``Bearer <token>`` outside DRF; ``None`` for no or a bad token.

    Used before DRF runs (the response cache must know the tenant). A token
    verified once is remembered per process until its ``exp``, so a hot
    client's requests skip the signature check; failures are left for DRF to
    answer with the usual 401.
    """
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        return None
    key = verification_key()[0]
    remembered = _verified.get(token)
    if remembered is not None:
        verified_with, user = remembered
        if verified_with is key and user.claims["exp"] > time.time():
            return user
        _verified.pop(token, None)
    try:
        claims = decode_token(token)
        user = TokenUser(scope=scope_from_claims(claims), claims=claims)
    except exceptions.AuthenticationFailed:
        return None
    if len(_verified) >= _VERIFIED_MAX:
        _verified.clear()
    _verified[token] = (key, user)
    return user


def authenticate_request_header(request: Any) -> TokenUser | None:
    """``verify_bearer_header`` for a Django request; remembers the result for ``JWTAuthentication``."""
    user = verify_bearer_header(request.META.get("HTTP_AUTHORIZATION", ""))
    if user is not None:
        request._verified_token_user = user
    return user


def issue_token(*, subject: str, role: Role, organization_id: str | None, ttl_seconds: int) -> str:
    """Sign a token with the configured HS256 secret or ``JWT_PRIVATE_KEY_FILE`` (for scripts and tests)."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": subject,
        "roles": [role.value],
        "iat": now,
        "exp": now + ttl_seconds,
    }
    if organization_id:
        claims["org"] = organization_id
    if settings.JWT_ISSUER:
        claims["iss"] = settings.JWT_ISSUER
    if settings.JWT_AUDIENCE:
        claims["aud"] = settings.JWT_AUDIENCE
    _, algorithms = verification_key()
    if algorithms == ["HS256"]:
        return jwt.encode(claims, settings.JWT_SECRET, algorithm="HS256")
    if not settings.JWT_PRIVATE_KEY_FILE:
        raise ValueError(
            "JWT_PRIVATE_KEY_FILE: needed to sign tokens when a public key is configured"
        )
    with open(settings.JWT_PRIVATE_KEY_FILE, encoding="ascii") as fh:
        return jwt.encode(claims, fh.read(), algorithm=algorithms[0])
