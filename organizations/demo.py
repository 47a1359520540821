"""Deterministic demo data: organizations with clinics, providers and assignments.

Shared by ``manage.py seed_demo`` and the benchmark. Rows are built in memory
and written with ``bulk_create`` in batches; each organization is written in
one transaction, so a rerun skips organizations that already exist (by slug)
and tops up the rest: reruns are idempotent.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction

from assignments.models import AssignmentRole, ProviderClinicAssignment
from clinics.models import Clinic, ClinicStatus
from enterprise.fields import new_object_id, now_ms
from organizations.models import Organization, OrganizationStatus, SubscriptionTier
from providers.models import Provider, ProviderStatus

FIRST_NAMES = (
    "Ava",
    "Ben",
    "Chloe",
    "Dev",
    "Elena",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jon",
    "Kemi",
    "Liam",
)
LAST_NAMES = (
    "Nguyen",
    "Smith",
    "Garcia",
    "Okafor",
    "Kowalski",
    "Tanaka",
    "Haddad",
    "Silva",
    "Moreau",
    "Patel",
)
CITIES = (("Boston", "MA"), ("Austin", "TX"), ("Denver", "CO"), ("Seattle", "WA"), ("Miami", "FL"))
SPECIALTIES = (
    "general",
    "orthodontics",
    "periodontics",
    "endodontics",
    "pediatric",
    "oral surgery",
)
ROLES = tuple(AssignmentRole.values)
BATCH = 2000


@dataclass(frozen=True)
class DemoSizes:
    organizations: int = 5
    clinics_per_org: int = 10
    providers_per_org: int = 100
    assignments_per_provider: int = 2

    @property
    def total_assignments(self) -> int:
        return (
            self.organizations
            * self.providers_per_org
            * min(self.assignments_per_provider, self.clinics_per_org)
        )


@dataclass
class SeedReport:
    organizations_created: int = 0
    organizations_skipped: int = 0
    clinics: int = 0
    providers: int = 0
    assignments: int = 0


def seed_demo(
    *, sizes: DemoSizes, seed: int = 42, progress: Callable[[int, int], None] | None = None
) -> SeedReport:
    """Write the demo data set; returns what was created. Safe to rerun."""
    report = SeedReport()
    slugs = [f"demo-{index:04d}" for index in range(sizes.organizations)]
    existing = set(Organization.objects.filter(slug__in=slugs).values_list("slug", flat=True))
    # Spread creation times over the past so cursor pages and "newest first" look realistic.
    start = now_ms() - timedelta(days=365)
    for index, slug in enumerate(slugs):
        if slug in existing:
            report.organizations_skipped += 1
        else:
            _seed_organization(
                index=index,
                slug=slug,
                sizes=sizes,
                rng=random.Random(seed * 100_003 + index),
                start=start,
                report=report,
            )
            report.organizations_created += 1
        if progress:
            progress(index + 1, len(slugs))
    return report


def _seed_organization(
    *,
    index: int,
    slug: str,
    sizes: DemoSizes,
    rng: random.Random,
    start,
    report: SeedReport,
) -> None:
    tick = start + timedelta(minutes=index * 7)

    def stamp() -> object:
        nonlocal tick
        tick += timedelta(milliseconds=rng.randint(1, 5000))
        return tick

    city, state = CITIES[index % len(CITIES)]
    created = stamp()
    organization = Organization(
        id=new_object_id(),
        name=f"Demo Dental Group {index + 1}",
        slug=slug,
        status=OrganizationStatus.ACTIVE if index % 17 else OrganizationStatus.SUSPENDED,
        subscription_tier=SubscriptionTier.values[index % len(SubscriptionTier.values)],
        contact_email=f"office@{slug}.example.com",
        phone="+1 555 0100",
        timezone="America/New_York",
        address_city=city,
        address_state=state,
        address_country="US",
        created_at=created,
        updated_at=created,
    )
    clinics = []
    for c in range(sizes.clinics_per_org):
        at = stamp()
        clinics.append(
            Clinic(
                id=new_object_id(),
                organization_id=organization.id,
                name=f"{city} Clinic {c + 1}",
                code=f"C{c + 1:03d}",
                status=ClinicStatus.ACTIVE if c % 11 else ClinicStatus.INACTIVE,
                phone="+1 555 0101",
                email=f"clinic{c + 1}@{slug}.example.com",
                timezone="America/New_York",
                address_city=city,
                address_state=state,
                address_country="US",
                created_at=at,
                updated_at=at,
            )
        )
    providers = []
    for p in range(sizes.providers_per_org):
        at = stamp()
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        providers.append(
            Provider(
                id=new_object_id(),
                organization_id=organization.id,
                first_name=first,
                last_name=last,
                email=f"{first.lower()}.{last.lower()}.{p}@{slug}.example.com",
                npi=f"{rng.randrange(10**9, 10**10)}",
                specialty=rng.choice(SPECIALTIES),
                status=ProviderStatus.ACTIVE if p % 13 else ProviderStatus.INACTIVE,
                created_at=at,
                updated_at=at,
            )
        )
    assignments = []
    per_provider = min(sizes.assignments_per_provider, len(clinics))
    for provider in providers:
        for n, clinic in enumerate(rng.sample(clinics, per_provider)):
            at = stamp()
            assignments.append(
                ProviderClinicAssignment(
                    id=new_object_id(),
                    provider_id=provider.id,
                    clinic_id=clinic.id,
                    organization_id=organization.id,
                    role=rng.choice(ROLES),
                    is_primary=n == 0,
                    is_active=True,
                    assigned_at=at,
                    created_at=at,
                    updated_at=at,
                )
            )
    with transaction.atomic():
        organization.save(force_insert=True)
        Clinic.objects.bulk_create(clinics, batch_size=BATCH)
        Provider.objects.bulk_create(providers, batch_size=BATCH)
        ProviderClinicAssignment.objects.bulk_create(assignments, batch_size=BATCH)
    report.clinics += len(clinics)
    report.providers += len(providers)
    report.assignments += len(assignments)
