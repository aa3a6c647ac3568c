"""The plane rules of ARCHITECTURE §1: every app, model and URL is placed in one plane."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from importlib import import_module
from pathlib import Path
from types import ModuleType
from typing import Any

from django.apps import AppConfig, apps
from django.conf import settings
from django.db import models
from django.urls import URLPattern, URLResolver, path

from infra.planes import PlaneAppConfig

PROJECT_ROOT = Path(settings.BASE_DIR).resolve()
# Views any host may serve: probes and OpenAPI documents.
ALLOWED_ON_BOTH_HOSTS = ("infra.health", "drf_spectacular.")
# Platform-only views that are not project apps: auth and the language switch; inside the
# platform admin's namespace, Django's own views too (redirects, the "view on site" shortcut).
ALLOWED_ON_PLATFORM = ("django.contrib.admin.", "django.contrib.auth.", "django.views.i18n")
ADMIN_NAMESPACE = "admin"


def _is_project_path(location: str) -> bool:
    relative = Path(location).resolve()
    if not relative.is_relative_to(PROJECT_ROOT):
        return False
    # The virtualenv (and other dot folders) live inside the project folder but are not ours.
    return not relative.relative_to(PROJECT_ROOT).parts[0].startswith(".")


def _project_app_configs() -> list[AppConfig]:
    return [config for config in apps.get_app_configs() if _is_project_path(config.path)]


def _plane_of(config: AppConfig | None) -> str | None:
    return getattr(config, "plane", None) if isinstance(config, PlaneAppConfig) else None


def test_every_project_app_declares_its_plane() -> None:
    # given
    configs = _project_app_configs()
    # then
    assert {config.name for config in configs} >= {"tenants", "billing", "shop.core"}
    undeclared = [
        config.name
        for config in configs
        if not isinstance(config, PlaneAppConfig) or _plane_of(config) not in {"control", "tenant"}
    ]
    assert undeclared == []


def test_planes_agree_with_shared_and_tenant_apps() -> None:
    # given
    shared, tenant = set(settings.SHARED_APPS), set(settings.TENANT_APPS)
    # when
    misplaced = [
        (config.name, _plane_of(config))
        for config in _project_app_configs()
        if (_plane_of(config) == "control") != (config.name in shared and config.name not in tenant)
        or (_plane_of(config) == "tenant") != (config.name in tenant and config.name not in shared)
    ]
    # then
    assert misplaced == []


def test_every_project_model_belongs_to_an_app_with_a_plane() -> None:
    # given
    project_modules = {config.name for config in _project_app_configs()}
    # when
    unplaced = [
        model._meta.label
        for model in apps.get_models(include_auto_created=True)
        if model.__module__.split(".")[0] in {name.split(".")[0] for name in project_modules}
        and _plane_of(model._meta.app_config) is None
    ]
    # then
    assert unplaced == []
    assert {model._meta.label for model in apps.get_models()} >= {
        "tenants.Tenant",
        "shop_core.ShopProfile",
    }


def _relations(model: type[models.Model]) -> Iterator[tuple[str, type[models.Model]]]:
    """Every foreign key, one-to-one and many-to-many a model declares (through tables too)."""
    for field in model._meta.get_fields(include_hidden=True):
        if field.is_relation and field.concrete and field.related_model is not None:
            yield field.name, field.related_model  # type: ignore[misc]
        if isinstance(field, models.ManyToManyField):
            yield f"{field.name} (through)", field.remote_field.through  # type: ignore[misc]


def test_no_relation_from_a_control_plane_model_into_a_tenant_plane_model() -> None:
    # given: every model of the public schema (project and third-party shared apps)
    tenant_labels = {
        config.label for config in apps.get_app_configs() if _plane_of(config) == "tenant"
    }
    control_models = [
        model
        for model in apps.get_models(include_auto_created=True)
        if model._meta.app_config is not None
        and model._meta.app_config.name in settings.SHARED_APPS
    ]
    # when
    crossing = [
        f"{model._meta.label}.{name} -> {target._meta.label}"
        for model in control_models
        for name, target in _relations(model)
        if target._meta.app_label in tenant_labels
    ]
    # then
    assert len(control_models) > 10
    assert crossing == []


def _views(
    patterns: list[Any], prefix: str = "", namespace: str = ""
) -> Iterator[tuple[str, str, Callable[..., Any]]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = ":".join(part for part in (namespace, pattern.namespace or "") if part)
            yield from _views(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), namespace, pattern.callback


def _view_module(view: Callable[..., Any]) -> str:
    """The module that defines a view: its class for class-based views, else its function."""
    for attribute in ("view_class", "cls"):
        view_class = getattr(view, attribute, None)
        if view_class is not None:
            return str(view_class.__module__)
    wrapped = view
    while hasattr(wrapped, "__wrapped__"):
        wrapped = wrapped.__wrapped__
    bound_to = getattr(wrapped, "__self__", None)
    if bound_to is not None:
        # Admin views are methods of a ModelAdmin or of the AdminSite.
        return str(type(bound_to).__module__)
    return str(wrapped.__module__)


def misplaced_views(urlconf: str, host_plane: str) -> list[str]:
    """URL patterns of a host's URLconf whose view belongs to the other plane or to no plane."""
    allowed_elsewhere = ALLOWED_ON_BOTH_HOSTS + (
        ALLOWED_ON_PLATFORM if host_plane == "control" else ()
    )
    problems = []
    for route, namespace, view in _views(import_module(urlconf).urlpatterns):
        module = _view_module(view)
        plane = _plane_of(apps.get_containing_app_config(module))
        if plane == host_plane or module.startswith(allowed_elsewhere):
            continue
        if (
            host_plane == "control"
            and namespace == ADMIN_NAMESPACE
            and module.startswith("django.")
        ):
            continue
        problems.append(f"{route or '/'} -> {module} ({plane or 'no plane'})")
    return problems


def test_platform_urls_route_only_to_control_plane_views() -> None:
    # when
    problems = misplaced_views("infra.urls_public", "control")
    # then
    assert problems == []


def test_shop_urls_route_only_to_tenant_plane_views() -> None:
    # when
    problems = misplaced_views("infra.urls_tenant", "tenant")
    # then
    assert problems == []


def test_the_url_check_catches_a_view_on_the_wrong_host() -> None:
    # given: a URLconf that puts the storefront on the platform host and a console on a shop host
    from frontend import views as console_views
    from themes.storefront import views as storefront_views

    module = ModuleType("tests_wrong_planes_urls")
    module.urlpatterns = [  # type: ignore[attr-defined]
        path("shop/", storefront_views.storefront_home),
        path("console/", console_views.console_home),
    ]
    sys.modules[module.__name__] = module
    try:
        # when
        on_platform = misplaced_views(module.__name__, "control")
        on_shop = misplaced_views(module.__name__, "tenant")
    finally:
        del sys.modules[module.__name__]
    # then
    assert on_platform == ["shop/ -> themes.storefront.views.pages (tenant)"]
    assert on_shop == ["console/ -> frontend.views (control)"]
