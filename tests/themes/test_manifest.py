"""Theme packages: safe zip reading, validation problems named by file and line, setting values."""

from __future__ import annotations

import io
import stat
import struct
import warnings
import zipfile
from pathlib import Path
from typing import Any

import pytest

from themes.manifest import (
    FONT_STACKS,
    MAX_ARCHIVE_BYTES,
    PackageProblem,
    SettingValueInvalid,
    ThemePackageInvalid,
    package_checksum,
    package_files_from_directory,
    package_files_from_zip,
    package_validate,
    section_settings_clean,
    setting_value_clean,
    settings_defaults,
    theme_settings_clean,
)

MINIMAL = Path(__file__).parent / "packages" / "minimal"


def _files() -> dict[str, bytes]:
    return package_files_from_directory(MINIMAL)


def _zip(entries: list[tuple[str | zipfile.ZipInfo, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate names we write
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, content in entries:
                archive.writestr(name, content)
    return buffer.getvalue()


def _where(problems: list[PackageProblem]) -> list[tuple[str, int | None, str]]:
    return sorted(
        ((problem.file, problem.line, problem.code) for problem in problems),
        key=lambda item: (item[0], item[1] or 0, item[2]),
    )


def _zip_problems(data: bytes) -> list[tuple[str, int | None, str]]:
    with pytest.raises(ThemePackageInvalid) as caught:
        package_files_from_zip(data)
    return _where(caught.value.problems)


def _problems(files: dict[str, bytes]) -> list[tuple[str, int | None, str]]:
    with pytest.raises(ThemePackageInvalid) as caught:
        package_validate(files)
    return _where(caught.value.problems)


# --- A valid package


def test_the_minimal_theme_validates_into_a_bundle() -> None:
    # given
    files = _files()
    # when
    bundle = package_validate(files)
    # then
    assert (bundle.handle, bundle.version, bundle.author) == ("minimal", "1.0.0", "Tests")
    assert bundle.name == {"en": "Minimal", "zh-Hans": "极简"}
    assert sorted(bundle.templates) == [
        "layout/theme.liquid",
        "sections/banner.liquid",
        "sections/products.liquid",
        "snippets/header.liquid",
        "templates/account.liquid",
        "templates/cart.liquid",
        "templates/category.liquid",
        "templates/checkout.liquid",
        "templates/distribution.liquid",
        "templates/home.liquid",
        "templates/login.liquid",
        "templates/order.liquid",
        "templates/orders.liquid",
        "templates/product.liquid",
        "templates/search.liquid",
    ]
    assert bundle.assets == {"theme.css": b"body { margin: 0; }\n"}
    assert bundle.locales == {
        "en": {"header": {"welcome": "Welcome"}},
        "zh-Hans": {"header": {"welcome": "欢迎"}},
    }
    assert bundle.checksum == package_checksum(files)
    assert len(bundle.checksum) == 64


def test_a_zip_with_one_top_folder_reads_like_the_folder() -> None:
    # given the package inside "minimal-1.0.0/", with macOS and dotfile litter and folders
    files = _files()
    entries: list[tuple[str | zipfile.ZipInfo, bytes]] = [
        (f"minimal-1.0.0/{path}", content) for path, content in files.items()
    ]
    entries += [
        ("minimal-1.0.0/assets/", b""),
        ("__MACOSX/minimal-1.0.0/._manifest.json", b"junk"),
        ("minimal-1.0.0/.DS_Store", b"junk"),
        ("minimal-1.0.0/.git/config", b"junk"),
    ]
    # when
    read = package_files_from_zip(_zip(entries))
    # then
    assert read == files
    assert package_validate(read).checksum == package_validate(files).checksum


def test_the_checksum_changes_with_any_file() -> None:
    # given
    files = _files()
    changed = {**files, "assets/theme.css": b"body { margin: 1px; }\n"}
    # then
    assert package_checksum(files) != package_checksum(changed)
    assert package_checksum(files) == package_checksum(dict(reversed(list(files.items()))))


# --- Unsafe archives


def test_zip_slip_absolute_and_backslash_names_are_refused() -> None:
    # given
    data = _zip(
        [
            ("manifest.json", b"{}"),
            ("../evil.liquid", b"x"),
            ("templates/../../evil.liquid", b"x"),
            ("/etc/passwd", b"x"),
            ("templates\\home.liquid", b"x"),
            ("C:/windows.liquid", b"x"),
        ]
    )
    # when
    problems = _zip_problems(data)
    # then
    assert problems == [
        ("../evil.liquid", None, "path_unsafe"),
        ("/etc/passwd", None, "path_unsafe"),
        ("C:/windows.liquid", None, "path_unsafe"),
        ("templates/../../evil.liquid", None, "path_unsafe"),
        ("templates\\home.liquid", None, "path_unsafe"),
    ]


def test_symbolic_links_are_refused() -> None:
    # given an entry marked as a Unix symlink pointing at a secret
    link = zipfile.ZipInfo("snippets/secret.liquid")
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    data = _zip([("manifest.json", b"{}"), (link, b"/etc/passwd")])
    # when
    problems = _zip_problems(data)
    # then
    assert problems == [("snippets/secret.liquid", None, "path_link")]


def test_duplicate_names_are_refused() -> None:
    # given
    data = _zip([("manifest.json", b"{}"), ("manifest.json", b'{"handle": "other"}')])
    # when
    problems = _zip_problems(data)
    # then
    assert problems == [("manifest.json", None, "path_duplicate")]


def test_more_than_a_thousand_entries_are_refused() -> None:
    # given
    data = _zip([(f"assets/a{index}.css", b"") for index in range(1001)])
    # when
    problems = _zip_problems(data)
    # then
    assert problems == [("(archive)", None, "too_many_files")]


def test_a_file_that_inflates_past_its_limit_is_refused_without_reading_it_all() -> None:
    # given 5 MB of zeros that compress to a few kilobytes
    data = _zip([("manifest.json", b"{}"), ("assets/bomb.css", bytes(5 * 1024 * 1024))])
    assert len(data) < 50_000
    # when
    problems = _zip_problems(data)
    # then
    assert problems == [("assets/bomb.css", None, "file_too_large")]


def test_files_that_inflate_past_the_package_limit_are_refused() -> None:
    # given eleven files of 1 MB each: each within its limit, 11 MB together
    data = _zip([(f"assets/part{index}.png", bytes(1024 * 1024)) for index in range(11)])
    # when
    problems = _zip_problems(data)
    # then
    assert problems == [("(package)", None, "package_too_large")]


def _declared_size(data: bytes, name: bytes, size: int) -> bytes:
    """The archive with the uncompressed size of `name` rewritten in both of its headers."""
    patched = bytearray(data)
    local = patched.find(b"PK\x03\x04")
    while local != -1:
        name_length = struct.unpack_from("<H", patched, local + 26)[0]
        if patched[local + 30 : local + 30 + name_length] == name:
            struct.pack_into("<I", patched, local + 22, size)
        local = patched.find(b"PK\x03\x04", local + 4)
    central = patched.find(b"PK\x01\x02")
    while central != -1:
        name_length = struct.unpack_from("<H", patched, central + 28)[0]
        if patched[central + 46 : central + 46 + name_length] == name:
            struct.pack_into("<I", patched, central + 24, size)
        central = patched.find(b"PK\x01\x02", central + 4)
    return bytes(patched)


def test_a_file_bigger_than_its_declared_size_is_refused() -> None:
    # given a 5 MB file whose headers claim 100 bytes (a bomb that lies about its size)
    data = _declared_size(
        _zip([("manifest.json", b"{}"), ("assets/liar.css", bytes(5 * 1024 * 1024))]),
        b"assets/liar.css",
        100,
    )
    assert zipfile.ZipFile(io.BytesIO(data)).getinfo("assets/liar.css").file_size == 100
    # when
    problems = _zip_problems(data)
    # then the real content does not match the headers: the entry cannot be read
    assert problems == [("assets/liar.css", None, "archive_invalid")]


def test_a_declared_size_is_not_trusted_either_way() -> None:
    # given a small file whose headers claim 100 MB
    data = _declared_size(
        _zip([("assets/small.css", b"body{}")]), b"assets/small.css", 100 * 1024 * 1024
    )
    # when
    files = package_files_from_zip(data)
    # then what is read is what is there
    assert files == {"assets/small.css": b"body{}"}


def test_something_that_is_not_a_zip_is_refused() -> None:
    # when
    problems = _zip_problems(b"PK this is not a zip file")
    # then
    assert problems == [("(archive)", None, "archive_invalid")]


def test_an_archive_over_the_size_limit_is_refused_before_it_is_opened() -> None:
    # when
    problems = _zip_problems(bytes(MAX_ARCHIVE_BYTES + 1))
    # then
    assert problems == [("(archive)", None, "archive_too_large")]


def test_a_folder_with_a_link_is_refused(tmp_path: Path) -> None:
    # given
    (tmp_path / "manifest.json").write_text("{}")
    (tmp_path / "snippets").mkdir()
    (tmp_path / "snippets" / "secret.liquid").symlink_to("/etc/passwd")
    # when
    with pytest.raises(ThemePackageInvalid) as caught:
        package_files_from_directory(tmp_path)
    # then
    assert _where(caught.value.problems) == [("snippets/secret.liquid", None, "path_link")]


# --- Files of the package


def test_unknown_paths_extensions_and_page_types_are_named() -> None:
    # given
    files = {
        **_files(),
        "README.md": b"hello",
        "templates/blog.liquid": b"x",
        "templates/nested/home.liquid": b"x",
        "assets/run.exe": b"MZ",
        "assets/fonts/a.woff2": b"x",
        "layout/other.liquid": b"x",
        "locales/fr.json": b"{}",
        "snippets/Card.liquid": b"x",
    }
    # when
    problems = _problems(files)
    # then
    assert problems == [
        ("README.md", None, "path_unknown"),
        ("assets/fonts/a.woff2", None, "path_unknown"),
        ("assets/run.exe", None, "extension_not_allowed"),
        ("layout/other.liquid", None, "path_unknown"),
        ("locales/fr.json", None, "locale_unknown"),
        ("snippets/Card.liquid", None, "name_invalid"),
        ("templates/blog.liquid", None, "page_type_unknown"),
        ("templates/nested/home.liquid", None, "path_unknown"),
    ]


def test_missing_templates_and_manifest_are_named() -> None:
    # given
    files = _files()
    for path in ("manifest.json", "templates/cart.liquid", "layout/theme.liquid"):
        del files[path]
    # when
    problems = _problems(files)
    # then
    assert problems == [
        ("layout/theme.liquid", None, "file_missing"),
        ("manifest.json", None, "file_missing"),
        ("templates/cart.liquid", None, "file_missing"),
    ]


def test_oversized_and_non_utf8_files_are_named_with_the_line_of_the_bad_byte() -> None:
    # given
    files = {
        **_files(),
        "templates/order.liquid": b"<h1>\n{{ content_for_sections }}\n\xff\xfe</h1>",
        "snippets/huge.liquid": b"x" * (256 * 1024 + 1),
        "assets/huge.png": bytes(1024 * 1024 + 1),
    }
    # when
    problems = _problems(files)
    # then
    assert problems == [
        ("assets/huge.png", None, "file_too_large"),
        ("snippets/huge.liquid", None, "file_too_large"),
        ("templates/order.liquid", 3, "encoding_invalid"),
    ]


def test_a_layout_that_does_not_print_the_page_is_refused() -> None:
    # given
    files = {**_files(), "layout/theme.liquid": b"<html>{{ content_for_sections }}</html>"}
    # when
    problems = _problems(files)
    # then
    assert problems == [("layout/theme.liquid", None, "layout_content_missing")]


# --- Liquid


def test_every_liquid_syntax_error_is_named_with_its_file_and_line() -> None:
    # given three broken templates and a render of a snippet that does not exist
    files = {
        **_files(),
        "templates/home.liquid": b"<h1>\n{% if x %}\n{% endfor %}\n",
        "templates/cart.liquid": b"<p>\n\n\n{{ cart | }}</p>\n{{ content_for_sections }}",
        "templates/search.liquid": b"a\nb\n{% for p in search.products %}\n{{ p.title }}\n",
        "sections/banner.liquid": b"<div>\n\n{% render 'missing-card' %}\n</div>",
    }
    # when
    problems = _problems(files)
    # then
    assert problems == [
        ("sections/banner.liquid", 3, "snippet_missing"),
        ("templates/cart.liquid", 4, "liquid_syntax"),
        ("templates/home.liquid", 3, "liquid_syntax"),
        ("templates/search.liquid", 4, "liquid_syntax"),  # unclosed: the end of the file
    ]


# --- The manifest

BROKEN_MANIFEST = """{
  "name": {"en": "Broken", "zh-Hans": "坏"},
  "handle": "Bad Handle",
  "version": "1.0",
  "colour": "red",
  "settings": [
    {"id": "color_primary", "type": "color", "label": "Primary", "default": "red"},
    {"id": "color_primary", "type": "color", "label": "Again"},
    {"id": "mood", "type": "feeling", "label": "Mood"},
    {"id": "size", "type": "range", "label": "Size", "min": 10, "max": 1, "default": 5},
    {"id": "layout", "type": "select", "options": [{"value": "a", "label": "A"}], "default": "b"}
  ],
  "sections": {
    "banner": {"name": "Banner", "pages": ["home"], "limit": 1, "settings": []},
    "hero": {"name": "Hero", "pages": ["blog"]},
    "text": {"name": "Text", "settings": [{"id": "body", "type": "textarea", "label": "Body"}]}
  },
  "pages": {
    "home": [{"type": "banner"}, {"type": "banner"}, {"type": "gallery"}],
    "product": [{"type": "text", "settings": {"body": 5, "extra": "x"}}, {"type": "banner"}],
    "blog": []
  }
}
"""


def _with_manifest(text: str, sections: tuple[str, ...] = ()) -> dict[str, bytes]:
    files = {
        path: content for path, content in _files().items() if not path.startswith("sections/")
    }
    files["manifest.json"] = text.encode()
    for section_type in sections:
        files[f"sections/{section_type}.liquid"] = b"<div></div>"
    return files


def test_every_manifest_problem_is_named_with_the_line_of_its_key() -> None:
    # given
    files = _with_manifest(BROKEN_MANIFEST, sections=("banner", "text", "orphan"))
    # when
    problems = _problems(files)
    # then
    assert problems == [
        ("manifest.json", 3, "handle_invalid"),
        ("manifest.json", 4, "version_invalid"),
        ("manifest.json", 5, "key_unknown"),
        ("manifest.json", 7, "setting_default_invalid"),
        ("manifest.json", 8, "setting_id_duplicate"),
        ("manifest.json", 9, "setting_type_unknown"),
        ("manifest.json", 10, "setting_invalid"),
        ("manifest.json", 11, "setting_default_invalid"),
        ("manifest.json", 15, "page_type_unknown"),
        ("manifest.json", 19, "section_limit"),
        ("manifest.json", 19, "section_unknown"),
        ("manifest.json", 20, "section_not_allowed"),
        ("manifest.json", 20, "setting_unknown"),
        ("manifest.json", 20, "setting_value_invalid"),
        ("manifest.json", 21, "page_type_unknown"),
        ("sections/hero.liquid", None, "file_missing"),
        ("sections/orphan.liquid", None, "section_not_declared"),
    ]


def test_a_manifest_json_syntax_error_names_its_line() -> None:
    # given a missing comma at the end of line 3
    files = _with_manifest('{\n  "handle": "x",\n  "version": "1.0.0"\n  "name": "X"\n}\n')
    # when
    problems = _problems(files)
    # then
    assert problems == [("manifest.json", 4, "json_syntax")]


def test_a_manifest_without_required_keys_and_with_a_duplicate_key() -> None:
    # given
    files = _with_manifest('{\n  "handle": "ok",\n  "handle": "twice"\n}\n')
    # when
    problems = _problems(files)
    # then
    assert problems == [
        ("manifest.json", 1, "key_missing"),
        ("manifest.json", 1, "key_missing"),
        ("manifest.json", 3, "json_duplicate_key"),
    ]


def test_locales_errors_name_their_lines() -> None:
    # given
    files = {
        **_files(),
        "locales/en.json": b'{\n  "cart": {\n    "count": 3\n  }\n}\n',
        "locales/zh-Hans.json": b'{\n  "cart": "x",\n}\n',
    }
    # when
    problems = _problems(files)
    # then
    assert problems == [
        ("locales/en.json", 3, "locale_invalid"),
        ("locales/zh-Hans.json", 3, "json_syntax"),
    ]


def test_the_api_error_lists_problems_by_file_with_lines() -> None:
    # given
    error = ThemePackageInvalid(
        [
            PackageProblem("manifest.json", 4, "version_invalid", "bad version"),
            PackageProblem("templates/cart.liquid", None, "file_missing", "missing"),
        ]
    )
    # then
    assert (error.code, error.status_code) == ("theme_package_invalid", 400)
    assert error.fields == {
        "manifest.json": [{"code": "version_invalid", "message": "bad version", "line": "4"}],
        "templates/cart.liquid": [{"code": "file_missing", "message": "missing", "line": ""}],
    }


# --- Setting values

VALID_VALUES: list[tuple[dict[str, Any], Any, Any]] = [
    ({"type": "text"}, "Hello", "Hello"),
    ({"type": "text"}, None, ""),
    ({"type": "textarea"}, "a\nb", "a\nb"),
    ({"type": "color"}, "#E4393C", "#e4393c"),
    ({"type": "font"}, "serif", "serif"),
    ({"type": "checkbox"}, False, False),
    ({"type": "range", "min": 0, "max": 100, "step": 5}, 35, 35),
    ({"type": "range", "min": 0, "max": 100, "step": 5}, "40", 40),
    ({"type": "select", "options": [{"value": "a"}, {"value": "b"}]}, "b", "b"),
    ({"type": "url"}, "/search?q=tea", "/search?q=tea"),
    ({"type": "url"}, "https://example.com/x", "https://example.com/x"),
    ({"type": "url"}, "", ""),
    ({"type": "image"}, "theme/alpha/logo.png", "theme/alpha/logo.png"),
    ({"type": "image"}, "", None),
    ({"type": "category"}, 12, 12),
    ({"type": "category"}, None, None),
    ({"type": "products"}, [3, "4", 3], [3, 4]),
]

INVALID_VALUES: list[tuple[dict[str, Any], Any]] = [
    ({"type": "text"}, "x" * 201),
    ({"type": "text"}, 5),
    ({"type": "textarea"}, "x" * 5001),
    ({"type": "color"}, "red"),
    ({"type": "color"}, "#e4393"),
    ({"type": "font"}, "comic"),
    ({"type": "checkbox"}, "yes"),
    ({"type": "range", "min": 0, "max": 100, "step": 5}, 101),
    ({"type": "range", "min": 0, "max": 100, "step": 5}, 33),
    ({"type": "range", "min": 0, "max": 100, "step": 5}, True),
    ({"type": "select", "options": [{"value": "a"}]}, "c"),
    ({"type": "url"}, "javascript:alert(1)"),
    ({"type": "url"}, "http://example.com"),
    ({"type": "url"}, "//evil.example.com/x"),
    ({"type": "url"}, "/a b"),
    ({"type": "image"}, "../secrets.png"),
    ({"type": "image"}, "/etc/passwd"),
    ({"type": "category"}, 0),
    ({"type": "category"}, "abc"),
    ({"type": "products"}, list(range(1, 52))),
    ({"type": "products"}, [1, -2]),
    ({"type": "products"}, "1,2"),
]


@pytest.mark.parametrize(("setting", "value", "expected"), VALID_VALUES)
def test_valid_setting_values_are_cleaned(
    setting: dict[str, Any], value: Any, expected: Any
) -> None:
    # when
    cleaned = setting_value_clean({"id": "field", **setting}, value)
    # then
    assert cleaned == expected


@pytest.mark.parametrize(("setting", "value"), INVALID_VALUES)
def test_invalid_setting_values_are_refused_under_their_id(
    setting: dict[str, Any], value: Any
) -> None:
    # when
    with pytest.raises(SettingValueInvalid) as caught:
        setting_value_clean({"id": "field", **setting}, value)
    # then
    assert caught.value.code == "theme_setting_invalid"
    assert list(caught.value.fields) == ["field"]


def test_defaults_and_cleaning_of_theme_and_section_settings() -> None:
    # given
    manifest = package_validate(_files()).manifest
    # when
    defaults = settings_defaults(manifest["settings"])
    theme = theme_settings_clean(manifest, {"font_body": "mono", "unknown": 1})
    section = section_settings_clean(manifest, "banner", {"title": "Hi", "height": "150"})
    # then
    assert defaults == {
        "color_primary": "#e4393c",
        "font_body": "system",
        "show_search": True,
        "logo": None,
    }
    assert theme == {**defaults, "font_body": "mono"}
    assert section == {"title": "Hi", "link": "/search", "height": 150, "align": "center"}
    assert set(FONT_STACKS) == {"system", "serif", "rounded", "mono"}


def test_every_invalid_section_value_is_listed() -> None:
    # given
    manifest = package_validate(_files()).manifest
    # when
    with pytest.raises(SettingValueInvalid) as caught:
        section_settings_clean(manifest, "banner", {"height": 120, "align": "up", "link": "x"})
    # then
    assert sorted(caught.value.fields) == ["align", "height", "link"]


def test_an_unknown_section_type_is_refused() -> None:
    # given
    manifest = package_validate(_files()).manifest
    # when
    with pytest.raises(SettingValueInvalid) as caught:
        section_settings_clean(manifest, "gallery", {})
    # then
    assert caught.value.code == "theme_section_unknown"
