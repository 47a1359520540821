"""Model factories shared by every test module."""

from __future__ import annotations

import factory

from assignments.models import AssignmentRole, ProviderClinicAssignment
from clinics.models import Clinic
from organizations.models import Organization
from providers.models import Provider


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Dental Group {n}")
    slug = factory.Sequence(lambda n: f"group-{n}")
    contact_email = factory.Sequence(lambda n: f"office{n}@example.com")


class ClinicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Clinic

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Clinic {n}")
    code = factory.Sequence(lambda n: f"C{n:04d}")


class ProviderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Provider

    organization = factory.SubFactory(OrganizationFactory)
    first_name = factory.Sequence(lambda n: f"First{n}")
    last_name = factory.Sequence(lambda n: f"Last{n}")
    npi = factory.Sequence(lambda n: f"{1000000000 + n}")


class AssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProviderClinicAssignment

    clinic = factory.SubFactory(ClinicFactory)
    provider = factory.SubFactory(
        ProviderFactory, organization=factory.SelfAttribute("..clinic.organization")
    )
    organization = factory.SelfAttribute("clinic.organization")
    role = AssignmentRole.DENTIST
