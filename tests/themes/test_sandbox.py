"""The Liquid sandbox for theme templates: rendering, snippets, and escape attempts that fail."""

from __future__ import annotations

import enum
import os
import time
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings as django_settings

from tenants.models import Tenant
from themes.storefront.sandbox import (
    RenderOptions,
    ThemeLimits,
    ThemeRenderError,
    ThemeSandbox,
    sandbox_render,
    to_liquid,
)

SECRET = "s3cr3t-never-rendered"


class _Level(enum.IntEnum):
    HIGH = 2


def _render(source: str, context: dict[str, Any] | None = None, **kwargs: Any) -> str:
    return sandbox_render(
        {"templates/page.liquid": source}, "templates/page.liquid", context or {}, **kwargs
    )


def _error(source: str, context: dict[str, Any] | None = None, **kwargs: Any) -> ThemeRenderError:
    with pytest.raises(ThemeRenderError) as caught:
        _render(source, context, **kwargs)
    return caught.value


def _product() -> dict[str, Any]:
    return {
        "title": "<script>alert(1)</script> Tea",
        "price_minor": 1234,
        "weight": Decimal("0.50"),
        "image": "catalog/tea.jpg",
        "tags": ["green", "loose"],
    }


def test_renders_plain_data_with_html_escaped() -> None:
    # given a product whose title holds markup
    # when a template prints it
    out = _render(
        "<h1>{{ product.title }}</h1><i>{{ product.weight }}</i>", {"product": _product()}
    )
    # then the markup is escaped and the Decimal is printed exactly
    assert out == "<h1>&lt;script&gt;alert(1)&lt;/script&gt; Tea</h1><i>0.50</i>"


def test_shop_filters_money_image_url_and_t() -> None:
    # given render options for a CNY shop with translations and a media prefix
    options = RenderOptions(
        currency="CNY",
        locale="zh_CN",
        media_base_url="/media/alpha/",
        translations={"product": {"add": "Add {{ title }} to cart"}},
    )
    # when the shop filters are used
    out = _render(
        "{{ product.price_minor | money }}|{{ product.image | image_url: 400 }}|"
        "{{ 'product.add' | t: title: product.title }}|{{ 'missing.key' | t }}",
        {"product": _product()},
        options=options,
    )
    # then money comes from minor units, the image URL from the prefix, and t is escaped
    assert out == (
        "¥12.34|/media/alpha/catalog/tea.jpg|"
        "Add &lt;script&gt;alert(1)&lt;/script&gt; Tea to cart|missing.key"
    )


def test_image_url_picks_the_stored_thumbnail_when_it_is_wide_enough() -> None:
    # given an image object with a 400-pixel thumbnail, and a theme asset
    image = {
        "src": "/media/alpha/catalog/p1.jpg",
        "thumbnail": "/media/alpha/catalog/p1_400.jpg",
        "width": 1200,
    }
    elsewhere = {"src": "javascript:alert(1)", "thumbnail": None}
    options = RenderOptions(media_base_url="/media/alpha/", asset_base_url="/theme-assets/7/c1/")
    # when a template asks for several widths and for the asset
    out = _render(
        "{{ image | image_url: 300 }}|{{ image | image_url: 800 }}|{{ image | image_url }}|"
        "{{ 'theme.css' | asset_url }}|{{ '../x.css' | asset_url }}|{{ elsewhere | image_url }}",
        {"image": image, "elsewhere": elsewhere},
        options=options,
    )
    # then the thumbnail serves up to its width, the original beyond, assets stay in their prefix
    assert out == (
        "/media/alpha/catalog/p1_400.jpg|/media/alpha/catalog/p1.jpg|/media/alpha/catalog/p1.jpg|"
        "/theme-assets/7/c1/theme.css||"
    )


def test_image_url_refuses_paths_outside_the_media_prefix() -> None:
    # given storage paths that try to leave the prefix or name another origin
    out = _render(
        "[{{ '../beta/x.jpg' | image_url }}][{{ '/etc/passwd' | image_url }}]"
        "[{{ 'https://evil.example/x' | image_url }}]"
    )
    # then each renders nothing
    assert out == "[][][]"


def test_render_and_include_load_the_package_snippets() -> None:
    # given a page and two snippets of the same package
    templates = {
        "templates/product.liquid": (
            "{% render 'card', item: product %}{% include 'snippets/tags.liquid' %}"
        ),
        "snippets/card.liquid": "<div>{{ item.title }}</div>",
        "snippets/tags.liquid": "{% for tag in product.tags %}#{{ tag }}{% endfor %}",
    }
    sandbox = ThemeSandbox(templates=templates)
    # when the page renders twice (parsed once)
    first = sandbox.render("templates/product.liquid", context={"product": _product()})
    second = sandbox.render(
        "templates/product.liquid", context={"product": {"title": "B", "tags": []}}
    )
    # then the snippets render with the data of each call
    assert first == "<div>&lt;script&gt;alert(1)&lt;/script&gt; Tea</div>#green#loose"
    assert second == "<div>B</div>"


def test_syntax_error_names_the_template_and_line() -> None:
    # given a package whose snippet has a tag without its expression on line 3
    sandbox = ThemeSandbox(
        templates={
            "templates/index.liquid": "ok",
            "snippets/bad.liquid": "a\nb\n{% if %}c{% endif %}",
        }
    )
    # when the package is checked
    with pytest.raises(ThemeRenderError) as caught:
        sandbox.check()
    # then the error names the snippet and the line
    assert caught.value.code == "theme_syntax_error"
    assert caught.value.template == "snippets/bad.liquid"
    assert caught.value.line == 3


@pytest.mark.parametrize(
    "source",
    [
        "{{ product.__class__ }}",
        "{{ product.__class__.__mro__ }}",
        "{{ product.title.__class__.__init__.__globals__ }}",
        "{{ product._meta }}",
        "{{ product.items }}{{ product.keys }}{{ product.get }}",
        "{{ product.title.upper }}{{ product.title.format }}",
        "{{ product.price_minor.real }}{{ product.price_minor.__class__ }}",
        "{{ product.tags.__len__ }}{{ product.tags.pop }}",
        "{{ product['__class__'] }}{{ forloop.__class__ }}",
        "{% for t in product.tags %}{{ forloop.__class__ }}{{ forloop.it }}{% endfor %}",
        "{% assign x = 'x' %}{{ x.__class__.__mro__ }}",
    ],
)
def test_python_internals_resolve_to_nothing(source: str) -> None:
    # given a template that reaches for Python attributes of the data
    # when it renders
    out = _render(source, {"product": _product()})
    # then nothing of Python shows
    assert "class" not in out
    assert "<" not in out
    assert "built-in" not in out
    assert "function" not in out


def test_python_internals_are_undefined_errors_in_strict_mode() -> None:
    # given strict variables (theme validation and preview)
    error = _error("{{ product.__class__ }}", {"product": _product()}, strict_variables=True)
    # then the dunder is undefined
    assert error.code == "theme_undefined"
    assert error.line == 1


def test_string_literal_attributes_are_a_syntax_error() -> None:
    # given a string literal with an attribute path
    error = _error("{{ 'x'.__class__.__mro__ }}")
    # then the template does not parse
    assert error.code == "theme_syntax_error"


@pytest.mark.parametrize(
    "name",
    ["/etc/passwd", "../x", "../../infra/settings.py", "snippets/../../x", "C:\\x", "%2e%2e/x"],
)
def test_include_cannot_read_files(name: str) -> None:
    # given a template that includes a path outside the package
    for tag in ("include", "render"):
        error = _error(f"{{% {tag} '{name}' %}}")
        # then the template is not found and no file content shows
        assert error.code == "theme_template_not_found"
        assert "root:" not in error.message


def test_settings_and_environment_are_not_reachable() -> None:
    # given theme settings that hold only theme keys, and a secret in the environment
    os.environ["THEME_SANDBOX_TEST_SECRET"] = SECRET
    try:
        out = _render(
            "[{{ settings.SECRET_KEY }}{{ settings.DATABASES }}{{ SECRET_KEY }}{{ environ }}"
            "{{ env.THEME_SANDBOX_TEST_SECRET }}{{ os.environ }}{{ django }}{{ request }}"
            "{{ settings.colors.accent }}]",
            {"settings": {"colors": {"accent": "#c00"}}},
        )
    finally:
        del os.environ["THEME_SANDBOX_TEST_SECRET"]
    # then only the theme setting renders
    assert out == "[#c00]"
    assert SECRET not in out
    assert str(django_settings.SECRET_KEY) not in out


def test_other_tenants_data_is_not_reachable() -> None:
    # given a render for shop alpha with only alpha's data
    out = _render(
        "{{ shop.name }}|{{ shops }}{{ tenant }}{{ connection }}{{ schema_name }}"
        "{{ all_products }}",
        {"shop": {"name": "Alpha", "currency": "CNY"}},
    )
    # then only what the caller passed renders
    assert out == "Alpha|"


def test_to_liquid_refuses_models_querysets_callables_and_floats() -> None:
    # given values that are not plain data
    for value in (Tenant(slug="beta"), Tenant.objects.all(), len, lambda: SECRET, 1.5, object()):
        # when converted for a template, then they are refused
        with pytest.raises(ThemeRenderError) as caught:
            to_liquid({"shop": value})
        assert caught.value.code == "theme_invalid_context"
    with pytest.raises(ThemeRenderError):
        to_liquid({"_private": 1})
    with pytest.raises(ThemeRenderError):
        _render("{{ shop }}", {"shop": Tenant(slug="beta", name=SECRET)})


def test_to_liquid_converts_plain_values() -> None:
    # given nested plain values
    value = to_liquid({"a": (1, Decimal("2.50")), "b": {"c": None, "d": True}, "e": _Level.HIGH})
    # then they become JSON-like data of the built-in types only
    assert value == {"a": [1, "2.50"], "b": {"c": None, "d": True}, "e": 2}
    assert type(value["e"]) is int


@pytest.mark.parametrize(
    "source",
    [
        "{% for i in (1..100000000) %}{% endfor %}",
        "{% for i in (1..100000000) reversed %}x{% endfor %}",
        "{% for i in (1..100000000) limit: 100000000 offset: 5 %}x{% endfor %}",
        "{% tablerow i in (1..100000000) %}{% endtablerow %}",
        "{% for a in (1..1000) %}{% for b in (1..1000) %}{% endfor %}{% endfor %}",
        "{{ (1..100000000) | join: ',' }}",
        "{{ (1..100000000) | reverse | first }}",
    ],
)
def test_unbounded_loops_are_refused_before_they_run(source: str) -> None:
    # given a loop over a huge range
    started = time.monotonic()
    error = _error(source)
    # then it fails fast on the loop limit
    assert error.code == "theme_limit_exceeded"
    assert time.monotonic() - started < 0.5


_X60 = "x" * 60
_Y70 = "y" * 70
_DOUBLE_14 = (
    "{% assign s = 'xxxxxxxxxxxxxxxxxxxx' %}"
    "{% for i in (1..14) %}{% assign s = s | append: s %}{% endfor %}"
)


@pytest.mark.parametrize(
    "source",
    [
        f"{{% for i in (1..40000) %}}{{{{ '{_X60}' }}}}{{% endfor %}}",
        "{% assign s = 'xxxxxxxxxx' %}"
        "{% for i in (1..40) %}{% assign s = s | append: s %}{% endfor %}",
        f"{{% capture s %}}{{% for i in (1..40000) %}}{_X60}{{% endfor %}}{{% endcapture %}}",
        _DOUBLE_14 + f"{{{{ s | replace: 'x', '{_Y70}' }}}}",
        _DOUBLE_14 + f"{{{{ s | split: '' | join: '{_Y70}' }}}}",
        _DOUBLE_14 + f"{{{{ s | replace: '', '{_Y70}' }}}}",
    ],
)
def test_huge_output_is_refused(source: str) -> None:
    # given a template that multiplies strings (a generous deadline: on a busy machine the
    # 40,000 iterations could reach the default one first, which is another test's business)
    error = _error(source, deadline_s=10.0)
    # then it stops on a size limit
    assert error.code == "theme_limit_exceeded"


def test_recursive_include_is_refused() -> None:
    # given a snippet that includes itself (twice, to fan out)
    templates = {
        "templates/page.liquid": "{% include 'loop' %}",
        "snippets/loop.liquid": "a{% include 'loop' %}{% include 'loop' %}",
    }
    # when it renders, then the depth limit stops it
    with pytest.raises(ThemeRenderError) as caught:
        sandbox_render(templates, "templates/page.liquid", {})
    assert caught.value.code == "theme_limit_exceeded"


def test_recursive_render_is_refused() -> None:
    # given a snippet that renders itself
    templates = {
        "templates/page.liquid": "{% render 'loop' %}",
        "snippets/loop.liquid": "a{% render 'loop' %}",
    }
    with pytest.raises(ThemeRenderError) as caught:
        sandbox_render(templates, "templates/page.liquid", {})
    assert caught.value.code == "theme_limit_exceeded"


def test_slow_template_is_stopped_by_the_deadline() -> None:
    # given a template that stays under every size limit but runs for a long time
    # (nested loops under the iteration limit, many times over, and an include fan-out)
    loops = (
        "{% for a in (1..200) %}{% for b in (1..200) %}"
        "{% assign c = a | plus: b %}{% endfor %}{% endfor %}"
    )
    templates = {
        "templates/page.liquid": loops * 50 + "{% include 'fan' %}",
        "snippets/fan.liquid": "{% include 'fan' %}{% include 'fan' %}",
    }
    sandbox = ThemeSandbox(templates=templates, limits=ThemeLimits(context_depth=40))
    for deadline in (0.1, 0.3):
        started = time.monotonic()
        # when it renders with a deadline
        with pytest.raises(ThemeRenderError) as caught:
            sandbox.render("templates/page.liquid", context={"secret": SECRET}, deadline_s=deadline)
        elapsed = time.monotonic() - started
        # then it stops with theme_timeout within twice the deadline
        assert caught.value.code == "theme_timeout"
        assert deadline <= elapsed < 2 * deadline
        assert SECRET not in str(caught.value)


def test_slow_include_fan_out_is_stopped_by_the_deadline() -> None:
    # given a snippet that includes itself twice: 2^depth renders
    templates = {
        "templates/page.liquid": "{% include 'fan' %}",
        "snippets/fan.liquid": "{% include 'fan' %}{% include 'fan' %}",
    }
    sandbox = ThemeSandbox(templates=templates, limits=ThemeLimits(context_depth=60))
    started = time.monotonic()
    with pytest.raises(ThemeRenderError) as caught:
        sandbox.render("templates/page.liquid", context={}, deadline_s=0.1)
    # then the deadline stops it
    assert caught.value.code in {"theme_timeout", "theme_limit_exceeded"}
    assert time.monotonic() - started < 0.2


def test_template_size_is_limited() -> None:
    # given a template larger than the limit
    with pytest.raises(ThemeRenderError) as caught:
        ThemeSandbox(
            templates={"templates/page.liquid": "x" * 2000}, limits=ThemeLimits(template_bytes=1000)
        )
    # then the package is refused
    assert caught.value.code == "theme_limit_exceeded"
    assert caught.value.template == "templates/page.liquid"


def test_invalid_template_names_are_refused() -> None:
    # given a package with a path-like template name
    with pytest.raises(ThemeRenderError) as caught:
        ThemeSandbox(templates={"../etc/passwd": "x"})
    assert caught.value.code == "theme_template_not_found"


def test_unknown_filter_is_an_error() -> None:
    # given a filter that does not exist (no file, settings or database filter is registered)
    for name in ("read_file", "setting", "db", "include"):
        error = _error(f"{{{{ 'x' | {name} }}}}")
        assert error.code == "theme_filter_error"


def test_error_in_a_snippet_names_the_snippet_and_its_line() -> None:
    # given a page that renders a snippet whose third line misuses a filter
    templates = {
        "templates/page.liquid": "a\n{% render 'card' %}",
        "snippets/card.liquid": "x\ny\n{{ 'abc' | money }}",
    }
    # when it renders
    with pytest.raises(ThemeRenderError) as caught:
        sandbox_render(templates, "templates/page.liquid", {})
    # then the error points at the snippet, not the page
    assert caught.value.code == "theme_filter_error"
    assert caught.value.template == "snippets/card.liquid"
    assert caught.value.line == 3


def test_undefined_in_an_included_snippet_is_reported_in_strict_mode() -> None:
    # given an included snippet that reads a variable nobody passed
    templates = {
        "templates/page.liquid": "{% include 'card' %}",
        "snippets/card.liquid": "\n{{ customer.email }}",
    }
    with pytest.raises(ThemeRenderError) as caught:
        sandbox_render(templates, "templates/page.liquid", {}, strict_variables=True)
    assert caught.value.code == "theme_undefined"
    assert (caught.value.template, caught.value.line) == ("snippets/card.liquid", 2)
