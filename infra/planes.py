"""Planes (ARCHITECTURE §1): every project app says once, on its AppConfig, where it lives."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from django.apps import AppConfig

Plane = Literal["control", "tenant"]


@dataclass(frozen=True)
class OutboxSubscriber:
    """A handler of domain events. `name` is stable: deliveries are recorded under it.

    `handle` runs in the shop's schema, in the transaction that records its delivery, so its
    effects happen exactly once per event (a failure rolls both back and Celery retries).
    """

    name: str
    topics: frozenset[str]
    handle: Callable[[Any], None]


class PlaneAppConfig(AppConfig):
    """An app of this project. `plane` is required; tenant-plane apps may seed a new shop.

    apps.py modules import this module rather than the class, so that Django still finds the
    one AppConfig they define.
    """

    plane: ClassVar[Plane]
    default_auto_field = "django.db.models.BigAutoField"

    def seed_defaults(self) -> None:
        """Create this app's default rows in the current (new) tenant schema; none by default."""

    def outbox_subscribers(self) -> list[OutboxSubscriber]:
        """The domain-event handlers this app registers (shop.events delivers to them)."""
        return []

    def price_adjusters(self) -> list[Any]:
        """Discounts this app adds to order prices (coupons, points…): see shop.orders.pricing."""
        return []


def project_app_configs() -> list[PlaneAppConfig]:
    """Every installed app that belongs to this project."""
    from django.apps import apps

    return [config for config in apps.get_app_configs() if isinstance(config, PlaneAppConfig)]


def tenant_app_configs() -> list[PlaneAppConfig]:
    """The project's tenant-plane apps, in INSTALLED_APPS order."""
    return [config for config in project_app_configs() if config.plane == "tenant"]
