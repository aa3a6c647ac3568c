"""Search tokens for Chinese and Latin text, for a PostgreSQL without a Chinese parser.

Runs of CJK characters become character bigrams (and, when indexed, single characters too, so
that a one-character query finds something); everything else becomes lower-cased words and
numbers. The index stores `to_tsvector('simple', <tokens joined by spaces>)`; a query is
`plainto_tsquery('simple', <its tokens>)`, whose tokens are ANDed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# CJK ideographs (with extension A and compatibility ideographs), kana and hangul syllables.
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af"
_TOKENS = re.compile(rf"(?P<cjk>[{_CJK}]+)|(?P<word>[^\W_{_CJK}]+)")


def _cjk_tokens(run: str, *, with_singles: bool) -> list[str]:
    if len(run) == 1:
        return [run]
    bigrams = [run[index : index + 2] for index in range(len(run) - 1)]
    return bigrams + list(run) if with_singles else bigrams


def search_tokens(text: str, *, for_query: bool = False) -> list[str]:
    """The tokens of `text`: CJK bigrams (plus single characters when indexing), Latin words.

    A query keeps only bigrams for runs of two or more CJK characters: "连衣" must match the
    bigram, not 连 and 衣 anywhere.
    """
    tokens: list[str] = []
    for match in _TOKENS.finditer(text):
        if match["cjk"]:
            tokens.extend(_cjk_tokens(match["cjk"], with_singles=not for_query))
        else:
            tokens.append(match["word"].lower())
    return tokens


def search_document(parts: Iterable[str]) -> str:
    """The tokens of several texts, deduplicated in first-seen order, joined by spaces."""
    seen: dict[str, None] = {}
    for part in parts:
        for token in search_tokens(part):
            seen.setdefault(token, None)
    return " ".join(seen)


def search_query_text(query: str) -> str:
    """What to hand to plainto_tsquery('simple', …) for a shopper's query ("" finds nothing)."""
    return " ".join(dict.fromkeys(search_tokens(query, for_query=True)))
