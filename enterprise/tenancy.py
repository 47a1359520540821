"""The caller's tenant scope: which organization's rows a request may see.

Every selector takes a ``Scope`` and narrows its queryset with it before any
filter runs, so there is no path that lists across tenants for a caller that
is not a platform admin.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Role(enum.StrEnum):
    PLATFORM_ADMIN = "platform_admin"
    ORG_ADMIN = "org_admin"
    MEMBER = "member"


@dataclass(frozen=True, slots=True)
class Scope:
    """Who is asking and which organization they are confined to.

    ``organization_id`` is ``None`` only for the platform scope (platform admins
    and platform-wide jobs); every other scope names exactly one organization.
    """

    role: Role
    organization_id: str | None
    subject: str

    def __post_init__(self) -> None:
        if self.role is not Role.PLATFORM_ADMIN and not self.organization_id:
            raise ValueError("a non-platform scope needs an organization")

    @property
    def is_platform(self) -> bool:
        return self.role is Role.PLATFORM_ADMIN

    @property
    def can_write(self) -> bool:
        return self.role in (Role.PLATFORM_ADMIN, Role.ORG_ADMIN)

    @property
    def cache_key(self) -> str:
        return "platform" if self.is_platform else f"org:{self.organization_id}"

    @classmethod
    def platform(cls, subject: str = "system") -> Scope:
        return cls(role=Role.PLATFORM_ADMIN, organization_id=None, subject=subject)

    def allows_organization(self, organization_id: str | None) -> bool:
        return self.is_platform or (
            organization_id is not None and organization_id == self.organization_id
        )
