"""Reading "the right page is X" from a person's reply: an indexed document's id or link.

When nothing the bot showed was right, a person may reply in the thread with the page
that is. `named_document` finds the indexed document the text names, by id (`runbooks/
deploy-rollback`, in backticks or not) or by link (the document's url, the id of a page
ingested from that url, or a Slack permalink of a saved thread), and only among the
documents visible in the thread's channel. `links_in` lists the http(s) links in the
text (Slack writes them `<https://…|label>`), and `host_allowed` is the admin's rule for
which of them may be fetched and ingested (`ARGOT_INGEST_HOSTS`; none by default).

Example:
    >>> links_in("it's <https://wiki.example/nightjar|the Nightjar page>")
    ['https://wiki.example/nightjar']
    >>> host_allowed("https://wiki.example/nightjar", ("wiki.example",))
    True
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from engine.index import ChunkIndex, is_visible
from engine.knowledge.threads import thread_id

SLACK_LINK = re.compile(r"<(https?://[^|>\s]+)(?:\|[^>]*)?>")
BARE_LINK = re.compile(r"(?<![<|\w])(https?://[^\s<>|]+)")
PERMALINK = re.compile(r"/archives/([CGD][A-Z0-9]+)/p(\d{10})(\d{6})")
MAX_CANDIDATES = 30
STRIP = "`'\"()[]{}<>*_,.;:!?"


@dataclass(frozen=True)
class NamedPage:
    """The indexed document a reply names."""

    doc_id: str
    title: str
    url: str


def links_in(text: str) -> list[str]:
    """The http(s) links in a Slack message, in order, each once."""
    found = [m.group(1) for m in SLACK_LINK.finditer(text or "")]
    found += [m.group(1).rstrip(".,;:!?)") for m in BARE_LINK.finditer(text or "")]
    return list(dict.fromkeys(found))


def id_candidates(text: str) -> list[str]:
    """Words of the text that could be document ids (links removed), longest first."""
    without_links = SLACK_LINK.sub(" ", text or "")
    without_links = BARE_LINK.sub(" ", without_links)
    words = [word.strip(STRIP) for word in without_links.split()]
    unique = list(dict.fromkeys(word for word in words if word))
    return sorted(unique, key=len, reverse=True)[:MAX_CANDIDATES]


def looks_like_an_id(text: str) -> bool:
    """True when the text seems to try naming a page: a `backticked` word or a path-like
    one (`runbooks/deploy`); "thanks!" in the thread is not an attempt."""
    return "`" in (text or "") or any("/" in word for word in id_candidates(text))


def url_candidates(url: str) -> list[str]:
    """Ids a link may have been stored under: itself, without a trailing slash, and for a
    Slack permalink the saved thread's id."""
    candidates = [url, url.rstrip("/"), url.rstrip("/") + "/"]
    match = PERMALINK.search(url)
    if match:
        channel, seconds, micros = match.groups()
        candidates.append(thread_id(channel, f"{seconds}.{micros}"))
    return list(dict.fromkeys(candidates))


def host_allowed(url: str, allowed_hosts: tuple[str, ...]) -> bool:
    """True for an http(s) link whose host is an allowed host or below one
    (`wiki.example` allows `docs.wiki.example`). Nothing is allowed by default."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.scheme not in ("http", "https") or not host:
        return False
    return any(host == allowed or host.endswith("." + allowed)
               for allowed in (h.lower().strip().lstrip(".").rstrip(".") for h in allowed_hosts)
               if allowed)


def named_document(index: ChunkIndex, text: str, channel: str) -> NamedPage | None:
    """The indexed document, visible in `channel`, that the text names by id or link."""
    for link in links_in(text):
        for candidate in url_candidates(link):
            page = _visible_page(index, candidate, channel)
            if page:
                return page
        page = _page_at_url(index, link, channel)
        if page:
            return page
    for candidate in id_candidates(text):
        page = _visible_page(index, candidate, channel)
        if page:
            return page
    return None


def _visible_page(index: ChunkIndex, doc_id: str, channel: str) -> NamedPage | None:
    chunks = index.chunks_of(doc_id)
    return _page(chunks[0][1], channel) if chunks else None


def _page_at_url(index: ChunkIndex, url: str, channel: str) -> NamedPage | None:
    for candidate in dict.fromkeys((url, url.rstrip("/"))):
        for metadata in index.metadata_where({"url": candidate}, limit=5):
            page = _page(metadata, channel)
            if page:
                return page
    return None


def _page(metadata: dict[str, Any], channel: str) -> NamedPage | None:
    if not is_visible(metadata, channel):
        return None
    return NamedPage(str(metadata["doc_id"]), str(metadata.get("title") or metadata["doc_id"]),
                     str(metadata.get("url") or ""))
