"""Theme packages: reading a zip or a folder safely, validating it, and theme setting values.

Pure Python (no models), so both planes use it: the control plane validates a package once, when
it is uploaded or shipped (`package_validate` collects every problem, each naming its file and
line); the tenant plane's theme editor cleans setting values with `setting_value_clean`,
`theme_settings_clean` and `section_settings_clean`. THEME-FORMAT.md is the format's reference.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import stat
import zipfile
import zlib
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Final
from urllib.parse import urlsplit

from django.utils.translation import gettext as _

from infra.errors import DomainError
from themes.storefront.sandbox import ThemeRenderError, ThemeSandbox

__all__ = [
    "ASSET_CONTENT_TYPES",
    "FONT_STACKS",
    "LANGUAGES",
    "PAGE_TYPES",
    "SETTING_TYPES",
    "PackageProblem",
    "SettingValueInvalid",
    "ThemeBundle",
    "ThemePackageInvalid",
    "label_dict",
    "label_text",
    "package_files_from_directory",
    "package_files_from_zip",
    "package_validate",
    "section_settings_clean",
    "setting_value_clean",
    "settings_defaults",
    "theme_settings_clean",
    "version_key",
]

PAGE_TYPES: tuple[str, ...] = (
    "home",
    "category",
    "search",
    "product",
    "cart",
    "checkout",
    "orders",
    "order",
    "account",
    "distribution",
    "login",
)
SETTING_TYPES: tuple[str, ...] = (
    "text",
    "textarea",
    "color",
    "font",
    "checkbox",
    "range",
    "select",
    "url",
    "image",
    "category",
    "products",
)
# The languages of labels and of locales/<language>.json.
LANGUAGES: tuple[str, ...] = ("en", "zh-Hans")

_SANS_CJK = '"PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC"'
FONT_STACKS: dict[str, str] = {
    "system": (
        '-apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, '
        f"{_SANS_CJK}, sans-serif"
    ),
    "serif": (
        'Georgia, "Times New Roman", "Songti SC", "Noto Serif CJK SC", "Source Han Serif SC", '
        'SimSun, "PingFang SC", "Microsoft YaHei", serif'
    ),
    "rounded": (
        'ui-rounded, "SF Pro Rounded", "Nunito", "Varela Round", "Arial Rounded MT Bold", '
        f"{_SANS_CJK}, sans-serif"
    ),
    "mono": (
        'ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", '
        f'"Noto Sans Mono CJK SC", {_SANS_CJK}, monospace'
    ),
}

ASSET_CONTENT_TYPES: Final[dict[str, str]] = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".gif": "image/gif",
    ".woff2": "font/woff2",
}

# Limits of THEME-FORMAT.md, and of what it leaves open (manifest and locale sizes, counts).
MAX_FILES: Final = 1_000
MAX_TEMPLATES: Final = 500
MAX_PACKAGE_BYTES: Final = 10 * 1024 * 1024
# The archive itself: its content is at most MAX_PACKAGE_BYTES, plus headers.
MAX_ARCHIVE_BYTES: Final = MAX_PACKAGE_BYTES + 1024 * 1024
MAX_TEMPLATE_BYTES: Final = 256 * 1024
MAX_ASSET_BYTES: Final = 1024 * 1024
MAX_JSON_BYTES: Final = 256 * 1024
MAX_SETTINGS: Final = 200
MAX_SECTION_TYPES: Final = 100
MAX_SECTIONS_PER_PAGE: Final = 30
MAX_SELECT_OPTIONS: Final = 100
MAX_RANGE_STEPS: Final = 1_000
MAX_PRODUCTS: Final = 50
MAX_TEXT: Final = 200
MAX_TEXTAREA: Final = 5_000
MAX_URL: Final = 500
MAX_IMAGE_PATH: Final = 300
MAX_LABEL: Final = 200
MAX_LOCALE_DEPTH: Final = 8

ARCHIVE: Final = "(archive)"
PACKAGE: Final = "(package)"
MANIFEST: Final = "manifest.json"
LAYOUT: Final = "layout/theme.liquid"

_HANDLE = re.compile(r"[a-z0-9][a-z0-9-]{0,38}[a-z0-9]")
_VERSION = re.compile(r"(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})")
_SETTING_ID = re.compile(r"[a-z_][a-z0-9_]{0,49}")
# Words of Liquid's grammar: `section.settings.limit` does not parse, so no setting may be named so.
LIQUID_WORDS = frozenset(
    {
        "limit",
        "offset",
        "reversed",
        "cols",
        "with",
        "for",
        "as",
        "in",
        "and",
        "or",
        "not",
        "contains",
        "true",
        "false",
        "nil",
        "null",
        "empty",
        "blank",
        "if",
        "else",
        "required",
        "continue",
    }
)
# Section types and snippet names: what the sandbox accepts in a template name (lower case).
_PART_NAME = re.compile(r"[a-z0-9_][a-z0-9_\-]{0,59}")
_ASSET_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_\-.]{0,99}")
_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
_MEDIA_PATH = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_\-.]*(/[A-Za-z0-9_][A-Za-z0-9_\-.]*)*")
_INTEGER = re.compile(r"-?[0-9]{1,15}")
_RENDER_TAG = re.compile(r"""\{%-?\s*(?:render|include)\s+(['"])([^'"]*)\1""")
_CONTENT_FOR_LAYOUT = re.compile(r"\{\{-?\s*content_for_layout[\s|}-]")

_MANIFEST_KEYS = frozenset(
    {"name", "handle", "version", "author", "description", "settings", "sections", "pages"}
)
_SETTING_KEYS = frozenset(
    {"id", "type", "label", "default", "info", "placeholder", "options", "min", "max", "step"}
)
_SECTION_KEYS = frozenset({"name", "pages", "limit", "settings"})
_PLACED_SECTION_KEYS = frozenset({"type", "settings"})
_PACKAGE_FOLDERS = frozenset({"layout", "templates", "sections", "snippets", "assets", "locales"})
_OUTPUT = re.compile(r"\{\{.*?\}\}", re.DOTALL)
_NO_DEFAULT_TYPES = frozenset({"image", "category", "products"})


# --- Errors and results


@dataclass(frozen=True)
class PackageProblem:
    """One thing wrong with a package: where (`file`, `line` from 1, or None) and what."""

    file: str
    line: int | None
    code: str
    message: str


class ThemePackageInvalid(DomainError):
    """The package cannot be used; `problems` lists everything wrong, each with file and line.

    Its API error lists them under `fields`, keyed by file: {"code", "message", "line"}.
    """

    code = "theme_package_invalid"
    status_code = 400
    default_message = "The theme package is not valid."

    def __init__(self, problems: list[PackageProblem], message: Any = None) -> None:
        fields: dict[str, list[dict[str, str]]] = {}
        for problem in problems:
            fields.setdefault(problem.file, []).append(
                {
                    "code": problem.code,
                    "message": problem.message,
                    "line": "" if problem.line is None else str(problem.line),
                }
            )
        super().__init__(message, fields=fields)
        self.problems = list(problems)

    def __str__(self) -> str:
        listed = "; ".join(
            f"{problem.file}:{problem.line or '-'} {problem.code}" for problem in self.problems[:5]
        )
        return f"{self.code}: {listed}"


class SettingValueInvalid(DomainError):
    """A theme or section setting value of the wrong shape; `fields` names the setting ids."""

    code = "theme_setting_invalid"
    status_code = 400
    default_message = "A theme setting is not valid."


@dataclass(frozen=True)
class ThemeBundle:
    """A validated theme package.

    `templates` maps paths ("templates/home.liquid", "sections/banner.liquid") to sources,
    `assets` file names ("theme.css", without "assets/") to bytes, `locales` a language ("en",
    "zh-Hans") to its strings. `checksum` is the SHA-256 of every file's path and content.
    """

    handle: str
    name: dict[str, str]
    version: str
    description: dict[str, str]
    author: str
    manifest: dict[str, Any]
    templates: dict[str, str]
    assets: dict[str, bytes]
    locales: dict[str, dict[str, Any]]
    checksum: str


def version_key(version: str) -> tuple[int, int, int]:
    """A MAJOR.MINOR.PATCH version as a tuple that sorts like the versions do."""
    match = _VERSION.fullmatch(version)
    if match is None:
        raise ValueError(f"not a MAJOR.MINOR.PATCH version: {version!r}")
    return int(match[1]), int(match[2]), int(match[3])


def label_text(label: Any, language: str) -> str:
    """A label of the manifest (a string or {"en": …, "zh-Hans": …}) in `language`.

    Falls back to English, then to any language given. `language` may be Django's "zh-hans".
    """
    if isinstance(label, str):
        return label
    if not isinstance(label, Mapping) or not label:
        return ""
    wanted = "zh-Hans" if language.lower().startswith("zh") else "en"
    for key in (wanted, "en", *label.keys()):
        value = label.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def package_checksum(files: Mapping[str, bytes]) -> str:
    """The SHA-256 (hex) of the package's sorted paths and contents."""
    digest = hashlib.sha256()
    for path in sorted(files):
        content = files[path]
        digest.update(path.encode("utf-8"))
        digest.update(b"\0")
        digest.update(str(len(content)).encode("ascii"))
        digest.update(b"\0")
        digest.update(content)
    return digest.hexdigest()


# --- Reading packages


def _ignored(name: str) -> bool:
    """macOS resource forks and dotfiles (.DS_Store, .git/…): left out, not refused."""
    parts = name.split("/")
    return parts[0] == "__MACOSX" or any(part.startswith(".") for part in parts if part)


def _unsafe_path(name: str) -> bool:
    if not name or "\\" in name or "\0" in name or name.startswith("/"):
        return True
    if re.match(r"[A-Za-z]:", name):
        return True
    parts = name.rstrip("/").split("/")
    return any(part in {"", ".", ".."} for part in parts)


def _strip_top_folder(files: dict[str, bytes]) -> dict[str, bytes]:
    """The files without their one common top folder, when every file is inside it.

    A package folder (a zip of assets/ alone) is not such a folder.
    """
    tops = {path.split("/", 1)[0] for path in files}
    if len(tops) != 1 or tops <= _PACKAGE_FOLDERS or any("/" not in path for path in files):
        return files
    return {path.split("/", 1)[1]: content for path, content in files.items()}


def _read_limited(handle: io.BufferedIOBase | Any, limit: int) -> bytes | None:
    """At most `limit` bytes of a stream; None when there is more (sizes in headers lie)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = handle.read(min(64 * 1024, limit + 1 - size))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return None


def _file_limit(path: str) -> int:
    if path.endswith(".liquid"):
        return MAX_TEMPLATE_BYTES
    if path.endswith(".json"):
        return MAX_JSON_BYTES
    return MAX_ASSET_BYTES


def _too_large(path: str, limit: int) -> PackageProblem:
    return PackageProblem(
        path,
        None,
        "file_too_large",
        _("The file is larger than %(size)s KB.") % {"size": limit // 1024},
    )


def _package_too_large() -> PackageProblem:
    return PackageProblem(
        PACKAGE,
        None,
        "package_too_large",
        _("The package holds more than %(size)s MB.") % {"size": MAX_PACKAGE_BYTES // 2**20},
    )


def _too_many_files(where: str) -> PackageProblem:
    return PackageProblem(
        where,
        None,
        "too_many_files",
        _("The package has more than %(count)s files.") % {"count": MAX_FILES},
    )


def package_files_from_zip(data: bytes) -> dict[str, bytes]:
    """The files of a zipped package, read safely; raises ThemePackageInvalid.

    Sizes in the archive's headers are not trusted: every file is read with a limit (its own,
    and what is left of the package's). Unsafe names (absolute, "..", backslashes), links and
    duplicates are refused; folders, `__MACOSX/` and dotfiles are left out; one common top
    folder is removed.
    """
    if len(data) > MAX_ARCHIVE_BYTES:
        raise ThemePackageInvalid(
            [
                PackageProblem(
                    ARCHIVE,
                    None,
                    "archive_too_large",
                    _("The zip file is larger than %(size)s MB.")
                    % {"size": MAX_ARCHIVE_BYTES // 2**20},
                )
            ]
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as error:
        raise ThemePackageInvalid(
            [
                PackageProblem(
                    ARCHIVE,
                    None,
                    "archive_invalid",
                    _("This is not a zip file that can be read (%(reason)s).")
                    % {"reason": str(error)},
                )
            ]
        ) from None
    with archive:
        if len(entries) > MAX_FILES:
            raise ThemePackageInvalid([_too_many_files(ARCHIVE)])
        problems: list[PackageProblem] = []
        files: dict[str, bytes] = {}
        remaining = MAX_PACKAGE_BYTES
        for entry in entries:
            name = entry.filename
            mode = entry.external_attr >> 16
            if _unsafe_path(name):
                problems.append(
                    PackageProblem(
                        name,
                        None,
                        "path_unsafe",
                        _("Names must be relative paths without “..” or backslashes."),
                    )
                )
                continue
            if stat.S_ISLNK(mode):
                problems.append(
                    PackageProblem(name, None, "path_link", _("Links are not allowed."))
                )
                continue
            if entry.is_dir() or _ignored(name):
                continue
            if stat.S_IFMT(mode) not in (0, stat.S_IFREG):
                problems.append(
                    PackageProblem(name, None, "path_link", _("Only plain files are allowed."))
                )
                continue
            if name in files:
                problems.append(
                    PackageProblem(
                        name, None, "path_duplicate", _("The zip file holds this name twice.")
                    )
                )
                continue
            if entry.flag_bits & 0x1:
                problems.append(
                    PackageProblem(
                        name, None, "archive_invalid", _("Encrypted files are not allowed.")
                    )
                )
                continue
            limit = min(_file_limit(name), remaining)
            try:
                with archive.open(entry) as handle:
                    content = _read_limited(handle, limit)
            except (
                zipfile.BadZipFile,
                zlib.error,
                OSError,
                EOFError,
                NotImplementedError,
                RuntimeError,
                ValueError,
            ) as error:
                problems.append(
                    PackageProblem(
                        name,
                        None,
                        "archive_invalid",
                        _("The file cannot be read from the zip (%(reason)s).")
                        % {"reason": str(error)},
                    )
                )
                continue
            if content is None:
                if limit < _file_limit(name):
                    problems.append(_package_too_large())
                    break
                problems.append(_too_large(name, limit))
                continue
            remaining -= len(content)
            files[name] = content
    if problems:
        raise ThemePackageInvalid(problems)
    return _strip_top_folder(files)


def package_files_from_directory(path: Path) -> dict[str, bytes]:
    """The files of a package folder (dotfiles left out, links refused), read with limits."""
    problems: list[PackageProblem] = []
    files: dict[str, bytes] = {}
    remaining = MAX_PACKAGE_BYTES
    root = Path(path)
    for item in sorted(root.rglob("*")):
        name = item.relative_to(root).as_posix()
        if _ignored(name):
            continue
        if item.is_symlink():
            problems.append(PackageProblem(name, None, "path_link", _("Links are not allowed.")))
            continue
        if item.is_dir():
            continue
        if len(files) >= MAX_FILES:
            problems.append(_too_many_files(PACKAGE))
            break
        limit = min(_file_limit(name), remaining)
        with item.open("rb") as handle:
            content = _read_limited(handle, limit)
        if content is None:
            if limit < _file_limit(name):
                problems.append(_package_too_large())
                break
            problems.append(_too_large(name, limit))
            continue
        remaining -= len(content)
        files[name] = content
    if problems:
        raise ThemePackageInvalid(problems)
    return files


# --- JSON with line numbers


def _offset_line(starts: list[int], offset: int) -> int:
    return bisect_right(starts, offset)


class _JsonLines:
    """The line of every key and array item of a JSON document (which json.loads accepted).

    Also notes duplicate keys, which json.loads silently resolves to the last one.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0] + [match.end() for match in re.finditer("\n", text)]
        self.lines: dict[tuple[str | int, ...], int] = {}
        self.duplicates: list[tuple[tuple[str | int, ...], int]] = []
        self._decoder = json.JSONDecoder()
        self._value(self._skip(0), ())

    def line(self, path: tuple[str | int, ...]) -> int:
        """The line of `path`, or of its nearest ancestor that has one (the document: 1)."""
        for end in range(len(path), 0, -1):
            found = self.lines.get(path[:end])
            if found is not None:
                return found
        return 1

    def _skip(self, index: int) -> int:
        while index < len(self.text) and self.text[index] in " \t\r\n":
            index += 1
        return index

    def _value(self, index: int, path: tuple[str | int, ...]) -> int:
        char = self.text[index]
        if char == "{":
            index = self._skip(index + 1)
            if self.text[index] == "}":
                return index + 1
            seen: set[str] = set()
            while True:
                key_at = index
                key, index = json.decoder.scanstring(self.text, index + 1)  # type: ignore[attr-defined]
                line = _offset_line(self.starts, key_at)
                if key in seen:
                    self.duplicates.append(((*path, key), line))
                seen.add(key)
                self.lines[(*path, key)] = line
                index = self._skip(self._skip(index) + 1)  # past ":"
                index = self._skip(self._value(index, (*path, key)))
                if self.text[index] == "}":
                    return index + 1
                index = self._skip(index + 1)  # past ","
        if char == "[":
            index = self._skip(index + 1)
            if self.text[index] == "]":
                return index + 1
            position = 0
            while True:
                self.lines[(*path, position)] = _offset_line(self.starts, index)
                index = self._skip(self._value(index, (*path, position)))
                position += 1
                if self.text[index] == "]":
                    return index + 1
                index = self._skip(index + 1)
        _scalar, end = self._decoder.raw_decode(self.text, index)
        return int(end)


@dataclass
class _JsonFile:
    data: Any
    lines: _JsonLines


def _json_load(path: str, content: bytes, problems: list[PackageProblem]) -> _JsonFile | None:
    text = _text(path, content, problems)
    if text is None:
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        problems.append(
            PackageProblem(
                path,
                error.lineno,
                "json_syntax",
                _("The JSON is not valid: %(reason)s.") % {"reason": error.msg},
            )
        )
        return None
    except RecursionError:
        problems.append(PackageProblem(path, None, "json_syntax", _("The JSON nests too deeply.")))
        return None
    lines = _JsonLines(text)
    for key_path, line in lines.duplicates:
        problems.append(
            PackageProblem(
                path,
                line,
                "json_duplicate_key",
                _("The key “%(key)s” appears twice.") % {"key": key_path[-1]},
            )
        )
    return _JsonFile(data, lines)


def _text(path: str, content: bytes, problems: list[PackageProblem]) -> str | None:
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as error:
        problems.append(
            PackageProblem(
                path,
                content[: error.start].count(b"\n") + 1,
                "encoding_invalid",
                _("The file is not UTF-8 text."),
            )
        )
        return None
    return text.removeprefix("\ufeff")


# --- Setting values


def _invalid(setting_id: str, code: str, message: str) -> SettingValueInvalid:
    return SettingValueInvalid(message, fields={setting_id: [{"code": code, "message": message}]})


def _integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value.strip())
    return None


def _clean_string(setting_id: str, value: Any, limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _invalid(setting_id, "not_text", _("Enter text."))
    if len(value) > limit:
        raise _invalid(
            setting_id,
            "too_long",
            _("Enter at most %(count)s characters.") % {"count": limit},
        )
    return value


def _clean_url(setting_id: str, value: Any) -> str:
    text = _clean_string(setting_id, value, MAX_URL).strip()
    if not text:
        return ""
    bad = _invalid(
        setting_id,
        "url_invalid",
        _("Enter a path of the shop (starting with /) or an https:// address."),
    )
    if any(char.isspace() or ord(char) < 32 or char == "\\" for char in text):
        raise bad
    if text.startswith("/"):
        if text.startswith("//"):
            raise bad  # protocol-relative: another host
        return text
    try:
        parts = urlsplit(text)
    except ValueError:
        raise bad from None
    if parts.scheme != "https" or not parts.hostname or parts.username or parts.password:
        raise bad
    return text


def _clean_range(setting: Mapping[str, Any], setting_id: str, value: Any) -> int:
    number = _integer(value)
    low, high, step = setting.get("min", 0), setting.get("max", 0), setting.get("step", 1) or 1
    if number is None or not low <= number <= high or (number - low) % step:
        raise _invalid(
            setting_id,
            "range_invalid",
            _("Choose a whole number from %(min)s to %(max)s in steps of %(step)s.")
            % {"min": low, "max": high, "step": step},
        )
    return number


def _clean_image(setting_id: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    if (
        not isinstance(value, str)
        or len(value) > MAX_IMAGE_PATH
        or _MEDIA_PATH.fullmatch(value) is None
        or ".." in value
    ):
        raise _invalid(setting_id, "image_invalid", _("Choose an uploaded image."))
    return value


def _clean_category(setting_id: str, value: Any) -> int | None:
    if value is None or value == "":
        return None
    number = _integer(value)
    if number is None or number <= 0:
        raise _invalid(setting_id, "category_invalid", _("Choose a category."))
    return number


def _clean_products(setting_id: str, value: Any) -> list[int]:
    if value is None:
        return []
    bad = _invalid(
        setting_id,
        "products_invalid",
        _("Choose at most %(count)s products.") % {"count": MAX_PRODUCTS},
    )
    if not isinstance(value, list | tuple) or len(value) > MAX_PRODUCTS:
        raise bad
    cleaned: list[int] = []
    for item in value:
        number = _integer(item)
        if number is None or number <= 0:
            raise bad
        if number not in cleaned:
            cleaned.append(number)
    return cleaned


def setting_value_clean(setting: dict[str, Any], value: Any) -> Any:
    """`value` for `setting` (a validated entry of a settings schema), cleaned.

    Raises SettingValueInvalid (its `fields` keyed by the setting's id) for a value of the wrong
    shape. Empty values: "" for text, textarea and url; None for image and category; [] for
    products. Colours come back in lower case; numbers given as digit strings become ints.
    """
    setting_id = str(setting.get("id", ""))
    kind = setting.get("type")
    if kind == "text":
        return _clean_string(setting_id, value, MAX_TEXT)
    if kind == "textarea":
        return _clean_string(setting_id, value, MAX_TEXTAREA)
    if kind == "color":
        if not isinstance(value, str) or _COLOR.fullmatch(value) is None:
            raise _invalid(setting_id, "color_invalid", _("Enter a colour as #rrggbb."))
        return value.lower()
    if kind == "font":
        if not isinstance(value, str) or value not in FONT_STACKS:
            raise _invalid(setting_id, "font_invalid", _("Choose one of the fonts."))
        return value
    if kind == "checkbox":
        if not isinstance(value, bool):
            raise _invalid(setting_id, "checkbox_invalid", _("Choose yes or no."))
        return value
    if kind == "range":
        return _clean_range(setting, setting_id, value)
    if kind == "select":
        values = [option.get("value") for option in setting.get("options", [])]
        if not isinstance(value, str) or value not in values:
            raise _invalid(setting_id, "select_invalid", _("Choose one of the options."))
        return value
    if kind == "url":
        return _clean_url(setting_id, value)
    if kind == "image":
        return _clean_image(setting_id, value)
    if kind == "category":
        return _clean_category(setting_id, value)
    if kind == "products":
        return _clean_products(setting_id, value)
    raise _invalid(setting_id, "setting_type_unknown", _("This setting's type is not known."))


def _setting_default(setting: Mapping[str, Any]) -> Any:
    if "default" in setting and setting["default"] is not None:
        return setting_value_clean(dict(setting), setting["default"])
    kind = setting.get("type")
    empty: dict[str, Any] = {
        "text": "",
        "textarea": "",
        "url": "",
        "color": "#000000",
        "font": "system",
        "checkbox": False,
        "image": None,
        "category": None,
        "products": [],
    }
    if kind == "range":
        return setting.get("min", 0)
    if kind == "select":
        options = setting.get("options") or [{}]
        return options[0].get("value", "")
    return empty.get(str(kind))


def settings_defaults(schema: list[dict[str, Any]]) -> dict[str, Any]:
    """Every setting of a (validated) schema with its default value."""
    return {str(setting["id"]): _setting_default(setting) for setting in schema}


def _schema_clean(schema: list[dict[str, Any]], values: Any) -> dict[str, Any]:
    if values is None:
        values = {}
    if not isinstance(values, Mapping):
        raise SettingValueInvalid(_("Settings must be an object of values."))
    cleaned: dict[str, Any] = {}
    fields: dict[str, list[dict[str, str]]] = {}
    for setting in schema:
        setting_id = str(setting["id"])
        if setting_id not in values:
            cleaned[setting_id] = _setting_default(setting)
            continue
        try:
            cleaned[setting_id] = setting_value_clean(setting, values[setting_id])
        except SettingValueInvalid as error:
            for field, items in error.fields.items():
                fields.setdefault(field, []).extend(items)
    if fields:
        raise SettingValueInvalid(fields=fields)
    return cleaned


def theme_settings_clean(manifest: dict[str, Any], values: Any) -> dict[str, Any]:
    """The theme settings `values`: unknown ids dropped, missing ones filled with defaults.

    Raises SettingValueInvalid listing every invalid value under its setting id.
    """
    return _schema_clean(list(manifest.get("settings") or []), values)


def section_settings_clean(
    manifest: dict[str, Any], section_type: str, values: Any
) -> dict[str, Any]:
    """A section's settings `values`, cleaned like `theme_settings_clean`.

    Raises SettingValueInvalid with code theme_section_unknown for a type the theme lacks.
    """
    section = (manifest.get("sections") or {}).get(section_type)
    if not isinstance(section, Mapping):
        raise SettingValueInvalid(
            _("The theme has no section of this type."), code="theme_section_unknown"
        )
    return _schema_clean(list(section.get("settings") or []), values)


# --- Validation


def _syntax_error_line(source: str) -> int:
    """The line of a syntax error python-liquid gives no position for.

    Such errors come from an output statement that ends too early (`{{ x | }}`) or from a
    block left open; the first output statement that fails alone is the one, else the end.
    """
    for match in _OUTPUT.finditer(source):
        try:
            ThemeSandbox(templates={"snippets/probe.liquid": match.group(0)}).check()
        except ThemeRenderError:
            return source.count("\n", 0, match.start()) + 1
    return max(1, len(source.splitlines()))


class _Validator:
    """Collects every problem of one package."""

    def __init__(self, files: Mapping[str, bytes]) -> None:
        self.files = files
        self.problems: list[PackageProblem] = []
        self.templates: dict[str, str] = {}
        self.assets: dict[str, bytes] = {}
        self.locales: dict[str, dict[str, Any]] = {}
        self.section_files: set[str] = set()
        self.manifest: dict[str, Any] = {}
        self.manifest_lines: _JsonLines | None = None
        self.sections_declared: set[str] | None = None

    def add(self, file: str, line: int | None, code: str, message: str) -> None:
        self.problems.append(PackageProblem(file, line, code, message))

    # Files

    def run(self) -> ThemeBundle | None:
        if len(self.files) > MAX_FILES:
            self.problems.append(_too_many_files(PACKAGE))
        if sum(len(content) for content in self.files.values()) > MAX_PACKAGE_BYTES:
            self.problems.append(_package_too_large())
        for path in sorted(self.files):
            self.file(path, self.files[path])
        if sum(1 for path in self.files if path.endswith(".liquid")) > MAX_TEMPLATES:
            self.add(
                PACKAGE,
                None,
                "too_many_templates",
                _("The package has more than %(count)s templates.") % {"count": MAX_TEMPLATES},
            )
        if MANIFEST in self.files:
            self.manifest_check()
        else:
            self.add(MANIFEST, None, "file_missing", _("The package needs this file."))
        self.required_files()
        self.sections_match()
        self.liquid_check()
        if self.problems:
            return None
        return self.bundle()

    def file(self, path: str, content: bytes) -> None:
        if _unsafe_path(path):
            self.add(path, None, "path_unsafe", _("Names must be relative paths without “..”."))
            return
        parts = PurePosixPath(path).parts
        folder, name = (parts[0], "/".join(parts[1:])) if len(parts) > 1 else ("", path)
        if path == MANIFEST:
            if len(content) > MAX_JSON_BYTES:
                self.problems.append(_too_large(path, MAX_JSON_BYTES))
            return
        if folder == "assets" and len(parts) == 2:
            self.asset(path, name, content)
            return
        if folder == "locales" and len(parts) == 2 and name.endswith(".json"):
            self.locale(path, name.removesuffix(".json"), content)
            return
        if len(parts) == 2 and name.endswith(".liquid"):
            stem = name.removesuffix(".liquid")
            known = (
                (folder == "layout" and stem == "theme")
                or (folder == "templates" and stem in PAGE_TYPES)
                or (folder in {"sections", "snippets"} and _PART_NAME.fullmatch(stem))
            )
            if known:
                self.template(path, content)
                if folder == "sections":
                    self.section_files.add(stem)
                return
            if folder == "templates":
                self.add(
                    path,
                    None,
                    "page_type_unknown",
                    _("There is no page type “%(name)s”; page types: %(types)s.")
                    % {"name": stem, "types": ", ".join(PAGE_TYPES)},
                )
                return
            if folder in {"sections", "snippets"}:
                self.add(
                    path,
                    None,
                    "name_invalid",
                    _("Names use lower-case letters, digits, “_” and “-”."),
                )
                return
        self.add(
            path,
            None,
            "path_unknown",
            _(
                "Themes hold only manifest.json, layout/, templates/, sections/, snippets/, "
                "assets/ and locales/ (see the theme format)."
            ),
        )

    def asset(self, path: str, name: str, content: bytes) -> None:
        suffix = PurePosixPath(name).suffix.lower()
        if suffix not in ASSET_CONTENT_TYPES:
            self.add(
                path,
                None,
                "extension_not_allowed",
                _("Assets may be %(extensions)s files.")
                % {"extensions": " ".join(sorted(ASSET_CONTENT_TYPES))},
            )
            return
        if _ASSET_NAME.fullmatch(name) is None:
            self.add(
                path,
                None,
                "name_invalid",
                _("Asset names use letters, digits, “_”, “-” and “.”."),
            )
            return
        if len(content) > MAX_ASSET_BYTES:
            self.problems.append(_too_large(path, MAX_ASSET_BYTES))
            return
        self.assets[name] = content

    def template(self, path: str, content: bytes) -> None:
        if len(content) > MAX_TEMPLATE_BYTES:
            self.problems.append(_too_large(path, MAX_TEMPLATE_BYTES))
            return
        text = _text(path, content, self.problems)
        if text is not None:
            self.templates[path] = text

    def locale(self, path: str, language: str, content: bytes) -> None:
        if language not in LANGUAGES:
            self.add(
                path,
                None,
                "locale_unknown",
                _("Locales are %(languages)s.")
                % {"languages": ", ".join(f"{code}.json" for code in LANGUAGES)},
            )
            return
        if len(content) > MAX_JSON_BYTES:
            self.problems.append(_too_large(path, MAX_JSON_BYTES))
            return
        loaded = _json_load(path, content, self.problems)
        if loaded is None:
            return
        if not isinstance(loaded.data, dict):
            self.add(path, 1, "locale_invalid", _("A locale is an object of strings."))
            return
        before = len(self.problems)
        self.locale_strings(path, loaded.data, (), loaded.lines)
        if len(self.problems) == before:
            self.locales[language] = loaded.data

    def locale_strings(
        self, path: str, node: dict[str, Any], at: tuple[str | int, ...], lines: _JsonLines
    ) -> None:
        for key, value in node.items():
            where = (*at, key)
            if isinstance(value, dict) and len(where) < MAX_LOCALE_DEPTH:
                self.locale_strings(path, value, where, lines)
            elif not isinstance(value, str):
                self.add(
                    path,
                    lines.line(where),
                    "locale_invalid",
                    _("“%(key)s” must be a string or an object of strings.")
                    % {"key": ".".join(str(part) for part in where)},
                )

    def required_files(self) -> None:
        for path in (LAYOUT, *(f"templates/{page}.liquid" for page in PAGE_TYPES)):
            if path not in self.files:
                self.add(path, None, "file_missing", _("The package needs this file."))
        layout = self.templates.get(LAYOUT)
        if layout is not None and _CONTENT_FOR_LAYOUT.search(layout) is None:
            self.add(
                LAYOUT,
                None,
                "layout_content_missing",
                _("The layout must print {{ content_for_layout }}."),
            )

    def sections_match(self) -> None:
        if self.sections_declared is None:
            return  # the manifest is broken: nothing to compare with
        for section_type in sorted(self.sections_declared - self.section_files):
            self.add(
                f"sections/{section_type}.liquid",
                None,
                "file_missing",
                _("The manifest declares the section “%(type)s”; the package needs this file.")
                % {"type": section_type},
            )
        for section_type in sorted(self.section_files - self.sections_declared):
            self.add(
                f"sections/{section_type}.liquid",
                None,
                "section_not_declared",
                _("The manifest's “sections” does not declare “%(type)s”.")
                % {"type": section_type},
            )

    def liquid_check(self) -> None:
        snippets = {
            path.removeprefix("snippets/").removesuffix(".liquid")
            for path in self.templates
            if path.startswith("snippets/")
        }
        for path, source in sorted(self.templates.items()):
            try:
                ThemeSandbox(templates={path: source}).check()
            except ThemeRenderError as error:
                # An unclosed block is found at the end of the file: point there.
                line = error.line if error.line is not None else _syntax_error_line(source)
                self.add(
                    path,
                    line,
                    "liquid_syntax",
                    _("Liquid syntax error: %(reason)s.") % {"reason": error.message},
                )
                continue
            for match in _RENDER_TAG.finditer(source):
                name = match.group(2)
                if name not in snippets and name not in self.templates:
                    self.add(
                        path,
                        source.count("\n", 0, match.start()) + 1,
                        "snippet_missing",
                        _("There is no snippets/%(name)s.liquid to render.") % {"name": name},
                    )

    # The manifest

    def manifest_check(self) -> None:
        loaded = _json_load(MANIFEST, self.files[MANIFEST], self.problems)
        if loaded is None:
            return
        self.manifest_lines = loaded.lines
        data = loaded.data
        if not isinstance(data, dict):
            self.add(MANIFEST, 1, "manifest_invalid", _("The manifest is a JSON object."))
            return
        self.manifest = data
        for key in sorted(set(data) - _MANIFEST_KEYS):
            self.manifest_problem(
                (key,),
                "key_unknown",
                _("Unknown key “%(key)s”; keys: %(keys)s.")
                % {"key": key, "keys": ", ".join(sorted(_MANIFEST_KEYS))},
            )
        for key in ("name", "handle", "version"):
            if key not in data:
                self.manifest_problem(
                    (), "key_missing", _("The manifest needs “%(key)s”.") % {"key": key}
                )
        if "name" in data:
            self.label_check(data["name"], ("name",), required=True)
        if "description" in data:
            self.label_check(data["description"], ("description",), required=False)
        handle = data.get("handle")
        if "handle" in data and (not isinstance(handle, str) or not _HANDLE.fullmatch(handle)):
            self.manifest_problem(
                ("handle",),
                "handle_invalid",
                _("The handle has 2 to 40 lower-case letters, digits and “-”."),
            )
        version = data.get("version")
        if "version" in data and (not isinstance(version, str) or not _VERSION.fullmatch(version)):
            self.manifest_problem(
                ("version",), "version_invalid", _("The version is MAJOR.MINOR.PATCH, as 1.0.0.")
            )
        if "author" in data and not (
            isinstance(data["author"], str) and len(data["author"]) <= MAX_LABEL
        ):
            self.manifest_problem(
                ("author",),
                "value_invalid",
                _("The author is a text of at most %(count)s characters.") % {"count": MAX_LABEL},
            )
        settings = data.get("settings", [])
        self.schema_check(settings, ("settings",))
        sections = self.sections_check(data.get("sections", {}))
        self.pages_check(data.get("pages", {}), sections)

    def manifest_problem(self, path: tuple[str | int, ...], code: str, message: str) -> None:
        line = self.manifest_lines.line(path) if self.manifest_lines is not None else None
        self.add(MANIFEST, line, code, message)

    def label_check(self, label: Any, path: tuple[str | int, ...], *, required: bool) -> None:
        message = _("Give a text, or {“en”: …, “zh-Hans”: …}, of at most %(count)s characters.")
        message = message % {"count": MAX_LABEL if path[-1] != "description" else MAX_TEXTAREA}
        limit = MAX_TEXTAREA if path[-1] == "description" else MAX_LABEL
        if isinstance(label, str):
            if (required and not label.strip()) or len(label) > limit:
                self.manifest_problem(path, "label_invalid", message)
            return
        if not isinstance(label, dict) or (required and not label):
            self.manifest_problem(path, "label_invalid", message)
            return
        for language, text in label.items():
            if language not in LANGUAGES:
                self.manifest_problem(
                    (*path, language),
                    "label_invalid",
                    _("Labels are given in %(languages)s.") % {"languages": ", ".join(LANGUAGES)},
                )
            elif not isinstance(text, str) or len(text) > limit or (required and not text.strip()):
                self.manifest_problem((*path, language), "label_invalid", message)

    def schema_check(self, schema: Any, path: tuple[str | int, ...]) -> list[dict[str, Any]]:
        """The valid settings of a settings list (problems noted for the others)."""
        if not isinstance(schema, list):
            self.manifest_problem(path, "settings_invalid", _("Settings are a list."))
            return []
        if len(schema) > MAX_SETTINGS:
            self.manifest_problem(
                path,
                "settings_invalid",
                _("At most %(count)s settings.") % {"count": MAX_SETTINGS},
            )
            return []
        valid: list[dict[str, Any]] = []
        seen: set[str] = set()
        for index, setting in enumerate(schema):
            where = (*path, index)
            if not isinstance(setting, dict):
                self.manifest_problem(where, "setting_invalid", _("A setting is an object."))
                continue
            setting_id = setting.get("id")
            if not isinstance(setting_id, str) or not _SETTING_ID.fullmatch(setting_id):
                self.manifest_problem(
                    (*where, "id") if "id" in setting else where,
                    "setting_id_invalid",
                    _("A setting's id has lower-case letters, digits and “_” (at most 50)."),
                )
                continue
            if setting_id in LIQUID_WORDS:
                self.manifest_problem(
                    (*where, "id"),
                    "setting_id_reserved",
                    _("“%(id)s” is a word of Liquid; templates could not read it. Rename it.")
                    % {"id": setting_id},
                )
                continue
            if setting_id in seen:
                self.manifest_problem(
                    (*where, "id"),
                    "setting_id_duplicate",
                    _("The id “%(id)s” is used twice.") % {"id": setting_id},
                )
                continue
            seen.add(setting_id)
            if self.setting_check(setting, where):
                valid.append(setting)
        return valid

    def setting_check(self, setting: dict[str, Any], where: tuple[str | int, ...]) -> bool:
        before = len(self.problems)
        setting_id = setting["id"]
        for key in sorted(set(setting) - _SETTING_KEYS):
            self.manifest_problem(
                (*where, key),
                "key_unknown",
                _("Unknown key “%(key)s” in setting “%(id)s”.") % {"key": key, "id": setting_id},
            )
        kind = setting.get("type")
        if kind not in SETTING_TYPES:
            self.manifest_problem(
                (*where, "type") if "type" in setting else (*where, "id"),
                "setting_type_unknown",
                _("Setting “%(id)s”: the type is one of %(types)s.")
                % {"id": setting_id, "types": ", ".join(SETTING_TYPES)},
            )
            return False
        if "label" in setting:
            self.label_check(setting["label"], (*where, "label"), required=True)
        for key in ("info", "placeholder"):
            if key in setting:
                self.label_check(setting[key], (*where, key), required=False)
        if kind == "range":
            self.range_check(setting, where)
        elif any(key in setting for key in ("min", "max", "step")):
            self.manifest_problem(
                (*where, "type"),
                "setting_invalid",
                _("Setting “%(id)s”: min, max and step belong to range settings.")
                % {"id": setting_id},
            )
        if kind == "select":
            self.options_check(setting, where)
        elif "options" in setting:
            self.manifest_problem(
                (*where, "options"),
                "setting_invalid",
                _("Setting “%(id)s”: options belong to select settings.") % {"id": setting_id},
            )
        if len(self.problems) > before:
            return False
        if "default" in setting and setting["default"] is not None:
            if kind in _NO_DEFAULT_TYPES:
                self.manifest_problem(
                    (*where, "default"),
                    "setting_default_invalid",
                    _("Setting “%(id)s”: a %(type)s setting has no default.")
                    % {"id": setting_id, "type": kind},
                )
                return False
            try:
                setting_value_clean(setting, setting["default"])
            except SettingValueInvalid as error:
                reason = next(iter(error.fields.values()))[0]["message"]
                self.manifest_problem(
                    (*where, "default"),
                    "setting_default_invalid",
                    _("Setting “%(id)s”: the default is not valid: %(reason)s")
                    % {"id": setting_id, "reason": reason},
                )
                return False
        return True

    def range_check(self, setting: dict[str, Any], where: tuple[str | int, ...]) -> None:
        setting_id = setting["id"]
        bounds = {key: setting.get(key) for key in ("min", "max", "step")}
        for key, value in bounds.items():
            if key == "step" and key not in setting:
                continue
            if isinstance(value, bool) or not isinstance(value, int):
                self.manifest_problem(
                    (*where, key) if key in setting else (*where, "type"),
                    "setting_invalid",
                    _("Setting “%(id)s”: “%(key)s” is a whole number.")
                    % {"id": setting_id, "key": key},
                )
                return
        low, high, step = int(setting["min"]), int(setting["max"]), int(setting.get("step", 1))
        if step < 1 or low >= high or (high - low) % step or (high - low) // step > MAX_RANGE_STEPS:
            self.manifest_problem(
                (*where, "min"),
                "setting_invalid",
                _(
                    "Setting “%(id)s”: min is below max, step at least 1, max minus min a multiple "
                    "of step, at most %(count)s steps."
                )
                % {"id": setting_id, "count": MAX_RANGE_STEPS},
            )

    def options_check(self, setting: dict[str, Any], where: tuple[str | int, ...]) -> None:
        setting_id = setting["id"]
        options = setting.get("options")
        if not isinstance(options, list) or not 1 <= len(options) <= MAX_SELECT_OPTIONS:
            self.manifest_problem(
                (*where, "options") if "options" in setting else (*where, "type"),
                "setting_invalid",
                _("Setting “%(id)s”: options are a list of 1 to %(count)s {value, label}.")
                % {"id": setting_id, "count": MAX_SELECT_OPTIONS},
            )
            return
        values: set[str] = set()
        for index, option in enumerate(options):
            at = (*where, "options", index)
            value = option.get("value") if isinstance(option, dict) else None
            if (
                not isinstance(option, dict)
                or set(option) - {"value", "label"}
                or not isinstance(value, str)
                or not value
                or len(value) > MAX_LABEL
            ):
                self.manifest_problem(
                    at,
                    "setting_invalid",
                    _("Setting “%(id)s”: an option is {value, label} with a text value.")
                    % {"id": setting_id},
                )
                continue
            if value in values:
                self.manifest_problem(
                    at,
                    "setting_invalid",
                    _("Setting “%(id)s”: the option “%(value)s” is given twice.")
                    % {"id": setting_id, "value": value},
                )
            values.add(value)
            if "label" in option:
                self.label_check(option["label"], (*at, "label"), required=True)

    def sections_check(self, sections: Any) -> dict[str, dict[str, Any]]:
        """The valid section types by name (problems noted for the others)."""
        if not isinstance(sections, dict):
            self.manifest_problem(
                ("sections",), "sections_invalid", _("“sections” is an object of types.")
            )
            return {}
        self.sections_declared = set(sections)
        if len(sections) > MAX_SECTION_TYPES:
            self.manifest_problem(
                ("sections",),
                "sections_invalid",
                _("At most %(count)s section types.") % {"count": MAX_SECTION_TYPES},
            )
            return {}
        valid: dict[str, dict[str, Any]] = {}
        for section_type, section in sections.items():
            where: tuple[str | int, ...] = ("sections", section_type)
            if not _PART_NAME.fullmatch(section_type):
                self.manifest_problem(
                    where,
                    "section_type_invalid",
                    _("Section types use lower-case letters, digits, “_” and “-”."),
                )
                continue
            if not isinstance(section, dict):
                self.manifest_problem(where, "section_invalid", _("A section type is an object."))
                continue
            before = len(self.problems)
            for key in sorted(set(section) - _SECTION_KEYS):
                self.manifest_problem(
                    (*where, key),
                    "key_unknown",
                    _("Unknown key “%(key)s” in section “%(type)s”.")
                    % {"key": key, "type": section_type},
                )
            if "name" in section:
                self.label_check(section["name"], (*where, "name"), required=True)
            else:
                self.manifest_problem(
                    where,
                    "key_missing",
                    _("Section “%(type)s” needs a “name”.") % {"type": section_type},
                )
            self.section_pages_check(section, where)
            limit = section.get("limit")
            if "limit" in section and (
                isinstance(limit, bool)
                or not isinstance(limit, int)
                or not 1 <= limit <= MAX_SECTIONS_PER_PAGE
            ):
                self.manifest_problem(
                    (*where, "limit"),
                    "section_invalid",
                    _("“limit” is a whole number from 1 to %(count)s.")
                    % {"count": MAX_SECTIONS_PER_PAGE},
                )
            settings = section.get("settings", [])
            valid_settings = self.schema_check(settings, (*where, "settings"))
            if len(self.problems) == before:
                valid[section_type] = {**section, "settings": valid_settings}
        return valid

    def section_pages_check(self, section: dict[str, Any], where: tuple[str | int, ...]) -> None:
        if "pages" not in section:
            return
        pages = section["pages"]
        if not isinstance(pages, list) or not pages:
            self.manifest_problem(
                (*where, "pages"), "section_invalid", _("“pages” is a list of page types.")
            )
            return
        for index, page in enumerate(pages):
            if page not in PAGE_TYPES:
                self.manifest_problem(
                    (*where, "pages", index),
                    "page_type_unknown",
                    _("There is no page type “%(name)s”; page types: %(types)s.")
                    % {"name": page, "types": ", ".join(PAGE_TYPES)},
                )

    def pages_check(self, pages: Any, sections: dict[str, dict[str, Any]]) -> None:
        if not isinstance(pages, dict):
            self.manifest_problem(
                ("pages",), "pages_invalid", _("“pages” is an object of page layouts.")
            )
            return
        for page, placed in pages.items():
            where: tuple[str | int, ...] = ("pages", page)
            if page not in PAGE_TYPES:
                self.manifest_problem(
                    where,
                    "page_type_unknown",
                    _("There is no page type “%(name)s”; page types: %(types)s.")
                    % {"name": page, "types": ", ".join(PAGE_TYPES)},
                )
                continue
            if not isinstance(placed, list) or len(placed) > MAX_SECTIONS_PER_PAGE:
                self.manifest_problem(
                    where,
                    "pages_invalid",
                    _("A page is a list of at most %(count)s sections.")
                    % {"count": MAX_SECTIONS_PER_PAGE},
                )
                continue
            counts: dict[str, int] = {}
            for index, entry in enumerate(placed):
                self.placed_section_check(page, entry, (*where, index), sections, counts)

    def placed_section_check(
        self,
        page: str,
        entry: Any,
        where: tuple[str | int, ...],
        sections: dict[str, dict[str, Any]],
        counts: dict[str, int],
    ) -> None:
        if not isinstance(entry, dict) or not isinstance(entry.get("type"), str):
            self.manifest_problem(
                where, "pages_invalid", _("A placed section is {type, settings}.")
            )
            return
        for key in sorted(set(entry) - _PLACED_SECTION_KEYS):
            self.manifest_problem(
                (*where, key),
                "key_unknown",
                _("Unknown key “%(key)s”; a placed section is {type, settings}.") % {"key": key},
            )
        section_type = entry["type"]
        declared = (self.manifest.get("sections") or {}) if self.manifest else {}
        if section_type not in declared:
            self.manifest_problem(
                (*where, "type"),
                "section_unknown",
                _("The manifest's “sections” does not declare “%(type)s”.")
                % {"type": section_type},
            )
            return
        section = sections.get(section_type)
        if section is None:
            return  # its own problems are reported already
        allowed = section.get("pages") or PAGE_TYPES
        if page not in allowed:
            self.manifest_problem(
                (*where, "type"),
                "section_not_allowed",
                _("The section “%(type)s” may not be placed on the page “%(page)s”.")
                % {"type": section_type, "page": page},
            )
        counts[section_type] = counts.get(section_type, 0) + 1
        limit = section.get("limit")
        if isinstance(limit, int) and counts[section_type] == limit + 1:
            self.manifest_problem(
                (*where, "type"),
                "section_limit",
                _("The section “%(type)s” may appear at most %(count)s times on a page.")
                % {"type": section_type, "count": limit},
            )
        settings = entry.get("settings", {})
        if not isinstance(settings, dict):
            self.manifest_problem(
                (*where, "settings"), "pages_invalid", _("“settings” is an object of values.")
            )
            return
        known = {str(setting["id"]): setting for setting in section["settings"]}
        for setting_id, value in settings.items():
            setting = known.get(setting_id)
            if setting is None:
                self.manifest_problem(
                    (*where, "settings", setting_id),
                    "setting_unknown",
                    _("The section “%(type)s” has no setting “%(id)s”.")
                    % {"type": section_type, "id": setting_id},
                )
                continue
            try:
                setting_value_clean(setting, value)
            except SettingValueInvalid as error:
                reason = next(iter(error.fields.values()))[0]["message"]
                self.manifest_problem(
                    (*where, "settings", setting_id),
                    "setting_value_invalid",
                    _("Setting “%(id)s”: %(reason)s") % {"id": setting_id, "reason": reason},
                )

    def bundle(self) -> ThemeBundle:
        data = self.manifest
        return ThemeBundle(
            handle=str(data["handle"]),
            name=label_dict(data["name"]),
            version=str(data["version"]),
            description=label_dict(data.get("description", {})),
            author=str(data.get("author", "")),
            manifest=data,
            templates=dict(sorted(self.templates.items())),
            assets=dict(sorted(self.assets.items())),
            locales=dict(sorted(self.locales.items())),
            checksum=package_checksum(self.files),
        )


def label_dict(label: Any) -> dict[str, str]:
    """A label of the manifest as {"en": …, "zh-Hans": …} (a plain string in both)."""
    if isinstance(label, str):
        return dict.fromkeys(LANGUAGES, label) if label else {}
    return {str(key): str(value) for key, value in label.items()}


def package_validate(files: dict[str, bytes]) -> ThemeBundle:
    """The package's files as a bundle; raises ThemePackageInvalid listing every problem.

    Problems name their file and, where there is one, the line: manifest problems the line of
    the offending key, Liquid syntax errors the line of the tag.
    """
    validator = _Validator(files)
    bundle = validator.run()
    if bundle is None:
        raise ThemePackageInvalid(validator.problems)
    return bundle
