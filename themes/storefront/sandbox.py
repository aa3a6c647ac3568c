"""The Liquid sandbox that renders theme templates, which agencies write (untrusted code).

A theme package is a dict of template sources; `ThemeSandbox` parses them once and renders one
of them with plain data only:

    sandbox = ThemeSandbox(templates={"templates/product.liquid": "…", "snippets/card.liquid": "…"})
    html = sandbox.render(
        "templates/product.liquid",
        context={"shop": to_liquid(shop_data), "product": to_liquid(product_data)},
        options=RenderOptions(currency="CNY", locale="zh_CN", media_base_url="/media/alpha/"),
    )

What a template can reach:
- only the objects the caller passed, converted by `to_liquid` to dicts, lists, str, int, bool
  and None (Decimals and dates become strings); anything else (a model instance, a queryset,
  a callable) is refused before rendering. python-liquid resolves `a.b` and `a["b"]` by item
  access only (never `getattr`), so on plain data `__class__`, `mro`, `_meta` or a string's
  attributes resolve to nothing; `to_liquid` also refuses keys that start with "_".
- `{% include %}` / `{% render %}` load only templates of the same package (a dict lookup by
  a validated name; `render 'card'` finds `snippets/card.liquid`), never the file system.
- the standard Liquid filters plus `money`, `image_url`, `asset_url` and `t`, none of which
  reads files, Django settings or the database (what they need comes in `RenderOptions`).

Limits (`ThemeLimits`): template size, loop iterations (the product of nested loop lengths,
and the stop index of any loop), output size, local namespace size (assign / capture), context
depth (nested include / render), the size of any single filter result, and a render deadline.

The deadline: python-liquid renders every node through `Node.render`, which reads
`context.disabled_tags` first. `_SandboxContext` turns that attribute into a property that
checks the clock, so the deadline is checked before every node: every tag, every output
statement and every loop iteration (a loop body is a block node), in the page and in every
snippet. A single node cannot run long on its own: loops and ranges are bounded before they
start, and filter results are bounded in size (`replace` and `join` before they run).

Every failure comes out as one `ThemeRenderError` with a stable `code`, the template name and
the line, so the storefront can show an error page instead of crashing.
"""

from __future__ import annotations

import functools
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final
from urllib.parse import quote

from babel.numbers import format_currency
from django.utils.translation import gettext_lazy as _
from liquid import CachingDictLoader, Environment, Markup, RenderContext, StrictUndefined
from liquid import Undefined as LiquidUndefined
from liquid.exceptions import (
    FilterArgumentError,
    FilterError,
    FilterItemTypeError,
    FilterValueError,
    LiquidError,
    LiquidSyntaxError,
    LiquidTypeError,
    LoopIterationLimitError,
    OutputStreamLimitError,
    ResourceLimitError,
    TemplateNotFoundError,
    UndefinedError,
    UnknownFilterError,
)
from liquid.filter import with_context
from liquid.loader import TemplateSource
from liquid.output import LimitedStringIO

from infra.errors import DomainError
from infra.money import Money

__all__ = [
    "RenderOptions",
    "ThemeLimits",
    "ThemeRenderError",
    "ThemeSandbox",
    "sandbox_render",
    "to_liquid",
]

# Template names: relative, lower-case path segments; no "..", no leading "/", no scheme.
_TEMPLATE_NAME: Final = re.compile(r"[a-z0-9_][a-z0-9_\-]*(/[a-z0-9_][a-z0-9_\-]*)*(\.liquid)?")
_SNIPPET_NAME: Final = re.compile(r"[a-z0-9_][a-z0-9_\-]*")
_MEDIA_PATH: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_\-.]*(/[A-Za-z0-9_][A-Za-z0-9_\-.]*)*")
_PLACEHOLDER: Final = re.compile(r"\{\{\s*([a-z_][a-z0-9_]*)\s*\}\}")
_MAX_IMAGE_WIDTH: Final = 4096
_MAX_DATA_DEPTH: Final = 32
# The width of the thumbnails the catalog stores beside every product image.
THUMBNAIL_WIDTH: Final = 400


class ThemeRenderError(DomainError):
    """A theme template failed to render; `code` says why, `template` and `line` say where.

    Codes: theme_syntax_error, theme_template_not_found, theme_limit_exceeded, theme_timeout,
    theme_undefined, theme_filter_error, theme_invalid_context, theme_render_failed.
    """

    code = "theme_render_failed"
    status_code = 500
    default_message = "The theme could not render this page."

    def __init__(
        self,
        message: Any = None,
        *,
        code: str,
        template: str | None = None,
        line: int | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.template = template
        self.line = line

    def __str__(self) -> str:
        where = f" ({self.template}:{self.line})" if self.template and self.line else ""
        return f"{self.code}: {self.message}{where}"


@dataclass(frozen=True, slots=True)
class ThemeLimits:
    """Resource limits of one render (sizes in bytes, except where named otherwise)."""

    template_bytes: int = 256 * 1024
    package_templates: int = 500
    loop_iterations: int = 50_000
    output_bytes: int = 2 * 1024 * 1024
    local_namespace_bytes: int = 512 * 1024
    context_depth: int = 12
    deadline_s: float = 0.5


@dataclass(frozen=True, slots=True)
class RenderOptions:
    """What the shop filters need, given by the caller (never read from settings or the DB).

    `media_base_url` is the shop's media prefix (for example "/media/alpha/"),
    `asset_base_url` the prefix of the theme version's assets, `translations` the theme's
    strings for the active language (nested dicts, keys joined with ".").
    """

    currency: str = "CNY"
    locale: str = "zh_CN"
    media_base_url: str = "/media/"
    asset_base_url: str = "/theme-assets/"
    translations: Mapping[str, Any] = field(default_factory=dict)


def to_liquid(value: object, *, _depth: int = 0) -> Any:
    """`value` as plain Liquid data: dicts with str keys, lists, str, int, bool and None.

    Decimals become strings (exact), dates and datetimes ISO strings, tuples lists, `Markup`
    stays markup (already-safe HTML). Anything else (a model instance, a queryset, a callable,
    a float) raises `ThemeRenderError` theme_invalid_context: convert it to a dict first.
    """
    if _depth > _MAX_DATA_DEPTH:
        raise ThemeRenderError(_("Theme data is nested too deeply."), code="theme_invalid_context")
    if value is None or type(value) is bool:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)  # an IntEnum / IntegerChoices member becomes a plain int
    if isinstance(value, Markup):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        converted: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str) or key.startswith("_"):
                raise ThemeRenderError(
                    _("Theme data keys must be strings that do not start with an underscore."),
                    code="theme_invalid_context",
                )
            converted[key] = to_liquid(item, _depth=_depth + 1)
        return converted
    if isinstance(value, list | tuple):
        return [to_liquid(item, _depth=_depth + 1) for item in value]
    raise ThemeRenderError(
        _("Theme data must be plain values, not {kind}.").format(kind=type(value).__name__),
        code="theme_invalid_context",
    )


class _DeadlineExceeded(ResourceLimitError):
    """Raised inside python-liquid when the render deadline has passed."""


class _SandboxContext(RenderContext):
    """A render context that checks the deadline before every node and bounds loop stops."""

    __slots__ = ("_deadline_at", "_disabled", "options")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._deadline_at = math.inf
        self.options = RenderOptions()
        super().__init__(*args, **kwargs)

    @property
    def disabled_tags(self) -> list[str]:
        # Node.render reads this before rendering each node: the deadline's check point.
        if time.monotonic() > self._deadline_at:
            raise _DeadlineExceeded("render deadline exceeded", token=None)
        return self._disabled

    @disabled_tags.setter
    def disabled_tags(self, value: list[str]) -> None:
        self._disabled = value

    def stopindex(self, key: str, index: int | None = None) -> int:
        # Called with a loop's stop index before python-liquid slices (or, for `reversed`,
        # copies) the iterable, so a huge range is refused before it is materialised.
        limit = self.env.loop_iteration_limit
        if index is not None and limit is not None and index > limit:
            raise LoopIterationLimitError("loop iteration limit reached", token=None)
        return super().stopindex(key, index)

    def copy(self, *args: Any, **kwargs: Any) -> RenderContext:
        ctx = super().copy(*args, **kwargs)
        assert isinstance(ctx, _SandboxContext)
        ctx._deadline_at = self._deadline_at
        ctx.options = self.options
        return ctx


class _PackageLoader(CachingDictLoader):
    """Templates of one package only; `render 'card'` also finds `snippets/card.liquid`."""

    def get_source(
        self,
        env: Environment,
        template_name: str,
        *,
        context: RenderContext | None = None,
        **kwargs: object,
    ) -> TemplateSource:
        name = str(template_name)
        if _TEMPLATE_NAME.fullmatch(name) is None:
            raise TemplateNotFoundError(name)
        if name not in self.templates and _SNIPPET_NAME.fullmatch(name):
            name = f"snippets/{name}.liquid"
        return super().get_source(env, name, context=context, **kwargs)


def _result_size(value: object) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, list | tuple):
        return len(value)
    return 0


def _guard_filter(name: str, func: Callable[..., Any], env_limits: ThemeLimits) -> Any:
    """`func` with its inputs and its result bounded in size (ranges, replace, join)."""
    max_chars = env_limits.output_bytes
    max_items = env_limits.loop_iterations

    @functools.wraps(func)
    def guarded(left: object, *args: Any, **kwargs: Any) -> Any:
        for value in (left, *args):
            if isinstance(value, range) and len(value) > max_items:
                raise LoopIterationLimitError(f"range too long for filter '{name}'", token=None)
        if name == "replace" and isinstance(left, str) and args:
            seq, sub = str(args[0]), str(args[1]) if len(args) > 1 else ""
            hits = len(left) + 1 if not seq else left.count(seq)
            if len(left) + hits * max(len(sub) - len(seq), 0) > max_chars:
                raise OutputStreamLimitError("filter result too large", token=None)
        if name == "join" and isinstance(left, list | tuple):
            separator = str(args[0]) if args else " "
            estimate = len(separator) * len(left) + sum(len(str(item)) for item in left)
            if estimate > max_chars:
                raise OutputStreamLimitError("filter result too large", token=None)
        result = func(left, *args, **kwargs)
        if _result_size(result) > max_chars:
            raise OutputStreamLimitError("filter result too large", token=None)
        return result

    return guarded


def _translation(translations: Mapping[str, Any], key: str) -> str | None:
    node: Any = translations
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node if isinstance(node, str) else None


@with_context
def _filter_money(value: object, *, context: _SandboxContext) -> str:
    """An amount in minor units (an int, or a string of digits) in the shop's currency."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise FilterArgumentError("money expects minor units", token=None)
    try:
        minor = int(value)
    except ValueError as err:
        raise FilterArgumentError("money expects minor units", token=None) from err
    options = context.options
    amount = Money(minor, options.currency).to_major()
    return str(format_currency(amount, options.currency, locale=options.locale))


def _media_url(path: object, options: RenderOptions) -> str:
    if not isinstance(path, str) or _MEDIA_PATH.fullmatch(path) is None or ".." in path:
        return ""
    return f"{options.media_base_url}{quote(path)}"


def _url_checked(url: object) -> str:
    # Image objects carry URLs the storefront made (storage URLs, maybe presigned).
    if isinstance(url, str) and url.startswith(("/", "https://", "http://")) and '"' not in url:
        return url
    return ""


@with_context
def _filter_image_url(value: object, width: object = None, *, context: _SandboxContext) -> str:
    """The URL of an image: an image object of the data, or a storage path.

    With a width, an image object's stored thumbnail (THUMBNAIL_WIDTH wide) is used when it is
    wide enough; otherwise the original (nothing is resized on the fly).
    """
    if width is not None and (
        isinstance(width, bool) or not isinstance(width, int) or not 0 < width <= _MAX_IMAGE_WIDTH
    ):
        raise FilterArgumentError("image_url width must be 1 to 4096", token=None)
    if isinstance(value, Mapping):
        thumbnail = value.get("thumbnail")
        if width is not None and thumbnail and width <= THUMBNAIL_WIDTH:
            return _url_checked(thumbnail)
        return _url_checked(value.get("src"))
    return _media_url(value, context.options)


@with_context
def _filter_asset_url(value: object, *, context: _SandboxContext) -> str:
    """The URL of a file of the theme's assets/ folder ("theme.css")."""
    if not isinstance(value, str) or _MEDIA_PATH.fullmatch(value) is None or ".." in value:
        return ""
    return f"{context.options.asset_base_url}{quote(value)}"


@with_context
def _filter_t(value: object, *, context: _SandboxContext, **variables: object) -> str:
    """The theme string at a dotted key, with `{{ name }}` placeholders filled in."""
    key = str(value)
    text = _translation(context.options.translations, key)
    if text is None:
        return key
    return _PLACEHOLDER.sub(
        lambda match: str(variables.get(match.group(1), match.group(0))),
        text,
    )


_SHOP_FILTERS: Final[dict[str, Callable[..., Any]]] = {
    "money": _filter_money,
    "image_url": _filter_image_url,
    "asset_url": _filter_asset_url,
    "t": _filter_t,
}


class _SandboxEnvironment(Environment):
    """python-liquid's environment with the sandbox's limits set per instance."""

    def __init__(self, *, limits: ThemeLimits, strict_variables: bool, loader: _PackageLoader):
        super().__init__(
            autoescape=True,
            loader=loader,
            undefined=StrictUndefined if strict_variables else LiquidUndefined,
            strict_filters=True,
        )
        # python-liquid reads these as class attributes; instance attributes shadow them.
        self.loop_iteration_limit = limits.loop_iterations  # type: ignore[misc]
        self.output_stream_limit = limits.output_bytes  # type: ignore[misc]
        self.local_namespace_limit = limits.local_namespace_bytes  # type: ignore[misc]
        self.context_depth_limit = limits.context_depth  # type: ignore[misc]
        self.globals = {}
        for name, func in _SHOP_FILTERS.items():
            self.add_filter(name, func)
        for name, func in list(self.filters.items()):
            self.filters[name] = _guard_filter(name, func, limits)


def _error_from(
    err: LiquidError, *, default_template: str, templates: Mapping[str, str]
) -> ThemeRenderError:
    # python-liquid names the outermost template; the token's source says which one failed.
    template = str(err.template_name) if err.template_name else default_template
    if err.token is not None:
        source = err.token.source
        template = next(
            (name for name, text in templates.items() if text is source or text == source),
            template,
        )
    position = err.context()
    line = position[0] if position else None
    message = str(err.message)
    if isinstance(err, _DeadlineExceeded):
        code = "theme_timeout"
    elif isinstance(err, ResourceLimitError):
        code = "theme_limit_exceeded"
    elif isinstance(err, TemplateNotFoundError):
        code = "theme_template_not_found"
    elif isinstance(err, UndefinedError):
        code = "theme_undefined"
    elif isinstance(err, LiquidSyntaxError):
        code = "theme_syntax_error"
    elif isinstance(
        err,
        FilterError
        | FilterArgumentError
        | FilterValueError
        | FilterItemTypeError
        | UnknownFilterError
        | LiquidTypeError,
    ):
        code = "theme_filter_error"
    else:
        code = "theme_render_failed"
    return ThemeRenderError(message, code=code, template=template, line=line)


class ThemeSandbox:
    """One theme package, parsed once, rendered many times with plain data.

    `templates` maps names ("templates/product.liquid", "snippets/card.liquid") to sources.
    `strict_variables` makes an undefined variable an error (theme_undefined) instead of
    nothing, for theme validation and previews. Build one per theme version and reuse it:
    parsed templates are cached on the instance.
    """

    def __init__(
        self,
        *,
        templates: Mapping[str, str],
        limits: ThemeLimits | None = None,
        strict_variables: bool = False,
    ) -> None:
        self.limits = limits or ThemeLimits()
        if len(templates) > self.limits.package_templates:
            raise ThemeRenderError(
                _("The theme has too many templates."), code="theme_limit_exceeded"
            )
        for name, source in templates.items():
            if _TEMPLATE_NAME.fullmatch(name) is None:
                raise ThemeRenderError(
                    _("Template names are relative lower-case paths."),
                    code="theme_template_not_found",
                    template=name,
                )
            if len(source.encode("utf-8")) > self.limits.template_bytes:
                raise ThemeRenderError(
                    _("The template is too large."), code="theme_limit_exceeded", template=name
                )
        self._loader = _PackageLoader(dict(templates), auto_reload=False)
        self._env = _SandboxEnvironment(
            limits=self.limits, strict_variables=strict_variables, loader=self._loader
        )

    def check(self) -> None:
        """Parse every template, raising theme_syntax_error with the name and line of the first."""
        for name in sorted(self._loader.templates):
            self._load(name)

    def _load(self, name: str) -> Any:
        try:
            return self._env.get_template(name)
        except LiquidError as err:
            raise _error_from(
                err, default_template=name, templates=self._loader.templates
            ) from None

    def render(
        self,
        name: str,
        *,
        context: Mapping[str, object],
        options: RenderOptions | None = None,
        deadline_s: float | None = None,
    ) -> str:
        """Render template `name` with `context` (converted by `to_liquid`).

        `deadline_s` (default `limits.deadline_s`) bounds the render's wall time; None in
        `limits` is not allowed, every render has a deadline.
        """
        data = to_liquid(dict(context))
        template = self._load(name)
        seconds = self.limits.deadline_s if deadline_s is None else deadline_s
        ctx = _SandboxContext(template, globals=template.make_globals(data))
        ctx._deadline_at = time.monotonic() + seconds
        ctx.options = options or RenderOptions()
        buffer = LimitedStringIO(limit=self.limits.output_bytes)
        try:
            template.render_with_context(ctx, buffer)
        except LiquidError as err:
            raise _error_from(
                err, default_template=name, templates=self._loader.templates
            ) from None
        except RecursionError:
            raise ThemeRenderError(
                _("The theme nests too deeply."), code="theme_limit_exceeded", template=name
            ) from None
        return buffer.getvalue()


def sandbox_render(
    templates: Mapping[str, str],
    name: str,
    context: Mapping[str, object],
    *,
    options: RenderOptions | None = None,
    limits: ThemeLimits | None = None,
    deadline_s: float | None = None,
    strict_variables: bool = False,
) -> str:
    """Render one template of a package once (builds a `ThemeSandbox`; reuse one instead)."""
    sandbox = ThemeSandbox(templates=templates, limits=limits, strict_variables=strict_variables)
    return sandbox.render(name, context=context, options=options, deadline_s=deadline_s)
