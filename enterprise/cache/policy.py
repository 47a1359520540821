"""Which GET endpoints are cached, what they depend on, and for how long."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from enterprise.cache.keys import RESOURCES

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class CachePolicy:
    """``resource`` names the stats bucket; ``depends_on`` the generations that invalidate the entry.

    ``etag`` is ``"generations"`` (a weak validator from the generation-bearing
    key, known before any database work: lists and aggregates) or ``"content"``
    (a strong validator of the body: details, which ``If-Match`` checks against).
    """

    resource: str
    depends_on: tuple[str, ...]
    ttl: str
    etag: str = "generations"
    #: A single-object read (the route's ``id``): keyed on that object's generation.
    per_object: bool = False
    #: Resources whose objects are rendered inside the body; their generations are
    #: recorded per object in the entry (see ``enterprise.cache.objects``).
    embeds: tuple[str, ...] = ()
    #: The route kwarg naming the one parent whose children the body lists (``provider_id``):
    #: keyed on that parent's generation of ``depends_on`` (``keys.parent_object_id``)
    #: instead of the scope's list generation.
    parent: str | None = None
    #: The body is an aggregate of counts over ``depends_on``: keyed on the scopes' counts
    #: generations, which writes of fields no aggregate reads leave alone.
    counts_only: bool = False
    #: For a page whose every row carries one embedded object (``embeds`` names its one
    #: resource): the row key it sits under (``"clinic"``), and the getter of current
    #: representations (``get_clinics_cached``). With both, an entry outdated only by
    #: changes to those objects is refreshed with them instead of running the view
    #: (``enterprise.cache.refresh``).
    embedded_field: str | None = None
    load_embedded: Callable[..., dict[str, dict[str, Any]]] | None = None
    #: For a list whose every row is one object of ``resource`` (a viewset's list): the getter
    #: of current representations (``get_clinics_cached``). A request whose parameters are
    #: all ``membership_params`` (and whose ``ordering``, if any, is one of
    #: ``membership_orderings``) selects and orders its rows only by fields that the counts
    #: generations follow (``COUNTED_FIELDS``, or fields no write changes), so it is keyed
    #: on those (a rename keeps the key) and watches the list generation instead; an entry a
    #: write outdated is refreshed with its rows' current objects (``enterprise.cache.refresh``).
    row_objects: Callable[..., dict[str, dict[str, Any]]] | None = None
    membership_params: frozenset[str] = frozenset()
    membership_orderings: frozenset[str] = frozenset()

    def membership_only(self, params: Iterable[tuple[str, str]]) -> bool:
        """Whether a list with these query parameters is keyed on membership (see ``row_objects``)."""
        if self.row_objects is None:
            return False
        for name, value in params:
            if name not in self.membership_params:
                return False
            if name == "ordering" and value not in self.membership_orderings:
                return False
        return True

    def __post_init__(self) -> None:
        unknown = set(self.depends_on) - set(RESOURCES)
        if unknown or self.resource not in RESOURCES:
            raise ValueError(f"unknown cache resources: {sorted(unknown) or self.resource}")
        if (self.embedded_field is None) != (self.load_embedded is None) or (
            self.embedded_field is not None and len(self.embeds) != 1
        ):
            raise ValueError("embedded_field and load_embedded go together, with one embeds")


def cache_response(
    *,
    resource: str,
    depends_on: tuple[str, ...],
    ttl: str,
    etag: str = "generations",
    embeds: tuple[str, ...] = (),
    counts_only: bool = False,
    parent: str | None = None,
    embedded: tuple[str, Callable[..., dict[str, dict[str, Any]]]] | None = None,
) -> Callable[[F], F]:
    """Mark a viewset action's GET responses as cacheable under this policy.

    ``embedded=(field, getter)``: see ``CachePolicy.embedded_field``.
    """
    embedded_field, load_embedded = embedded if embedded is not None else (None, None)

    def mark(func: F) -> F:
        func.cache_policy = CachePolicy(  # type: ignore[attr-defined]
            resource,
            depends_on,
            ttl,
            etag,
            embeds=embeds,
            counts_only=counts_only,
            parent=parent,
            embedded_field=embedded_field,
            load_embedded=load_embedded,
        )
        return func

    return mark


def policy_for_view(view_func: Any) -> CachePolicy | None:
    """The policy of the viewset action a resolved URL routes GET to, if any."""
    cls = getattr(view_func, "cls", None)
    actions = getattr(view_func, "actions", None)
    if cls is None or not actions or "get" not in actions:
        return None
    resolver = getattr(cls, "cache_policy_for", None)
    return resolver(actions["get"]) if resolver else None
