"""Abstract building blocks shared by the resource apps' models."""

from __future__ import annotations

from django.db import models

from enterprise.fields import MillisecondDateTimeField, ObjectIdField, now_ms


class BaseModel(models.Model):
    """A 24-hex ObjectId primary key and millisecond ``created_at``/``updated_at`` stamps."""

    id = ObjectIdField(primary_key=True)
    created_at = MillisecondDateTimeField(default=now_ms, editable=False)
    updated_at = MillisecondDateTimeField(auto_now=True, editable=False)

    class Meta:
        abstract = True


class AddressFields(models.Model):
    """A postal address stored as flat columns (one document per row on MongoDB)."""

    address_line1 = models.CharField(max_length=200, blank=True, default="")
    address_line2 = models.CharField(max_length=200, blank=True, default="")
    address_city = models.CharField(max_length=100, blank=True, default="")
    address_state = models.CharField(max_length=100, blank=True, default="")
    address_postal_code = models.CharField(max_length=20, blank=True, default="")
    address_country = models.CharField(
        max_length=2, blank=True, default="", help_text="ISO 3166-1 alpha-2"
    )

    class Meta:
        abstract = True
