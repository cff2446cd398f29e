"""Words as BM25 and the vocabulary learner read them, in any script.

English and other space-separated text: lower-cased runs of two or more word
characters, English stop words dropped (what `bm25s.tokenize(..., stopwords="en")`
gives). Chinese, Japanese and Korean are written without spaces, so a run of CJK
characters is split into overlapping character bigrams, as Lucene's `CJKAnalyzer`
does ("网关配置" → "网关", "关配", "配置"); a lone CJK character is kept as a unigram.
A question and a document that share a two-character word then share a token, with
no dictionary to install.

Example:
    >>> tokenize("Where is the API网关 config?")
    ['where', 'api', '网关', 'config']
    >>> tokenize_all(["first text", "second text"])
    [['first', 'text'], ['second', 'text']]
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

CJK = ("\u1100-\u11ff\u3040-\u309f\u30a0-\u30ff\u3100-\u312f\u3130-\u318f\u3400-\u4dbf"
       "\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f")
TOKEN = re.compile(rf"[{CJK}]+|[^\W{CJK}][^\W{CJK}]+")
CJK_RUN = re.compile(rf"[{CJK}]+")
QUESTION_WORDS = frozenset(
    "how do does did what whats where when who whom whose why which can could should would "
    "shall may might must am me my mine we us our you your he she his her its get got use "
    "using used make need want know tell show find there here any some all about from "
    "quick question anyone someone hey hi hello please thanks really like way person explain "
    "ask asking again still also just".split())
"""How people ask, not what about ("quick question: anyone know how do I ...")."""


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    """bm25s' English stop words (the list answers have always used)."""
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


def words(text: str) -> list[str]:
    """Every token of `text` in order, stop words kept (for matching phrases)."""
    found: list[str] = []
    for match in TOKEN.finditer(text.lower()):
        token = match.group()
        if CJK_RUN.fullmatch(token):
            found.extend(cjk_bigrams(token))
        else:
            found.append(token)
    return found


def tokenize(text: str) -> list[str]:
    """The tokens BM25 indexes and searches: `words` without English stop words."""
    stop = stop_words()
    return [token for token in words(text) if token not in stop]


def tokenize_all(texts: Iterable[str]) -> list[list[str]]:
    return [tokenize(text) for text in texts]


def cjk_bigrams(run: str) -> list[str]:
    """Overlapping character bigrams of a CJK run; a single character stays itself."""
    if len(run) == 1:
        return [run]
    return [run[i:i + 2] for i in range(len(run) - 1)]


def has_cjk(text: str) -> bool:
    return CJK_RUN.search(text) is not None
