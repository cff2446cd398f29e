"""Reading documents from files, folders and URLs.

Every reader either returns whole documents or raises `IngestError` naming the file
(and line, for JSONL): a source is taken entirely or not at all. The one exception is a
repeated document id (a JSONL line, a Markdown front-matter `id`, the same file in two
folders): only the repeat is skipped and reported (`check_unique`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from engine.errors import IngestError
from engine.knowledge import markdown
from engine.knowledge.jsonl import json_lines
from engine.knowledge.web import PUBLIC_WEB, FetchFailed, FetchRefused, HostPolicy, fetch
from engine.types import Document
from engine.visibility import parse_channels

TEXT_SUFFIXES = {".md", ".markdown", ".txt", ".html", ".htm", ".jsonl"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp"}
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_URL_BYTES = 5 * 1024 * 1024
URL_DEADLINE_S = 30.0
URL_CONTENT_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "text/markdown")
FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)


@dataclass
class Collected:
    """What a set of paths and URLs yielded: documents, images, and per-source errors."""

    documents: list[Document] = field(default_factory=list)
    images: list[tuple[Path, str]] = field(default_factory=list)  # (file, id)
    errors: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def collect(targets: list[str], policy: HostPolicy = PUBLIC_WEB) -> Collected:
    """Read every target: folders recursively (hidden entries skipped), files, URLs
    (fetched under `policy`: public addresses only unless a test says otherwise)."""
    collected = Collected()
    for target in targets:
        if target.startswith(("http://", "https://")):
            _keep(collected, target, lambda t=target: [fetch_url(t, policy)])
            continue
        path = Path(target)
        if path.is_dir():
            for file in walk(path):
                read_into(collected, file, doc_id_for(file, path))
        elif path.is_file():
            if path.suffix.lower() not in TEXT_SUFFIXES | IMAGE_SUFFIXES:
                collected.errors.append(f"{path}: unsupported file type {path.suffix or '(none)'}; "
                                        f"Argot reads {', '.join(sorted(TEXT_SUFFIXES | IMAGE_SUFFIXES))}")
                continue
            read_into(collected, path, path.stem)
        else:
            collected.errors.append(f"{target}: no such file, folder or URL")
    check_unique(collected)
    return collected


def walk(folder: Path) -> Iterator[Path]:
    """Every file below `folder`, hidden ones and symlinks leading out of it skipped."""
    inside = folder.resolve()
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        if not path.resolve().is_relative_to(inside):
            continue
        yield path


def doc_id_for(file: Path, root: Path) -> str:
    """A file's id is its path below the ingested folder, without the suffix."""
    return file.relative_to(root).with_suffix("").as_posix()


def read_into(collected: Collected, file: Path, doc_id: str) -> None:
    suffix = file.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        collected.images.append((file, doc_id))
    elif suffix in TEXT_SUFFIXES:
        _keep(collected, str(file), lambda: read_file(file, doc_id))
    else:
        collected.skipped.append(str(file))


def _keep(collected: Collected, label: str, read: Any) -> None:
    try:
        collected.documents.extend(read())
    except IngestError as exc:
        collected.errors.append(str(exc))


def check_unique(collected: Collected) -> None:
    """Keep the first document of each id; report every later one by where it came from
    (`file:line` for JSONL) and skip it, so a repeat costs only itself."""
    seen: dict[str, str] = {}
    unique: list[Document] = []
    for document in collected.documents:
        if document.doc_id in seen:
            collected.errors.append(f"{document.source}: duplicate id {document.doc_id!r} "
                                    f"(also in {seen[document.doc_id]}); the second was not indexed")
            continue
        seen[document.doc_id] = document.source
        unique.append(document)
    collected.documents = unique


def read_text(file: Path) -> str:
    try:
        size = file.stat().st_size
        if size > MAX_FILE_BYTES:
            raise IngestError(f"{file}: {size // 1024 // 1024} MB is over the "
                              f"{MAX_FILE_BYTES // 1024 // 1024} MB limit for one file")
        raw = file.read_bytes()
    except OSError as exc:
        raise IngestError(f"{file}: cannot read ({exc.strerror or exc})") from exc
    return decode(raw, str(file))


def decode(raw: bytes, label: str) -> str:
    if b"\x00" in raw[:8192]:
        raise IngestError(f"{label}: looks binary, not text")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IngestError(f"{label}: not UTF-8 (byte {exc.start}); re-save it as UTF-8") from exc
    if not text.strip():
        raise IngestError(f"{label}: empty, nothing to index")
    return text


def read_file(file: Path, doc_id: str) -> list[Document]:
    text = read_text(file)
    suffix = file.suffix.lower()
    if suffix == ".jsonl":
        return parse_jsonl(text, str(file))
    if suffix in {".html", ".htm"}:
        title, body = html_to_text(text)
        return [Document(doc_id=doc_id, title=title or file.stem, text=body, source=str(file))]
    if suffix in {".md", ".markdown"}:
        return [parse_markdown(text, doc_id, str(file), fallback_title=file.stem)]
    return [Document(doc_id=doc_id, title=file.stem.replace("-", " ").replace("_", " "),
                     text=text.strip(), source=str(file))]


def parse_markdown(text: str, doc_id: str, source: str, fallback_title: str) -> Document:
    """Optional front matter (`id`, `title`, `url`, `channels`, other keys → metadata);
    the title is the first level-1 heading otherwise."""
    front: dict[str, str] = {}
    match = FRONT_MATTER.match(text)
    if match:
        for line in match.group(1).splitlines():
            key, sep, value = line.partition(":")
            if sep:
                front[key.strip()] = value.strip().strip('"')
        text = text[match.end():]
    title = front.pop("title", "")
    if not title:
        title = markdown.title(text) or fallback_title
    channels = parse_channels(front, source, listed=False)
    front.pop("channels", None)
    return Document(
        doc_id=front.pop("id", doc_id), title=title, text=text.strip(), source=source,
        url=front.pop("url", ""), metadata=front, channels=channels)


def parse_jsonl(text: str, label: str) -> list[Document]:
    """One document per line: `id` and `text` required; `title`, `url`, `channels`
    optional; every other key becomes metadata."""
    documents: list[Document] = []
    for line in json_lines(text, label):
        try:
            row = line.object()
        except ValueError as exc:
            raise IngestError(f"{line.where}: {exc}; nothing from this file was indexed") from None
        missing = [key for key in ("id", "text") if not str(row.get(key, "")).strip()]
        if missing:
            raise IngestError(f"{line.where}: missing {' and '.join(missing)}; "
                              "nothing from this file was indexed")
        channels = parse_channels(row, line.where, listed=True)
        row.pop("channels", None)
        documents.append(Document(
            doc_id=str(row.pop("id")), text=str(row.pop("text")).strip(),
            title=str(row.pop("title", "") or ""), url=str(row.pop("url", "") or ""),
            source=line.where, metadata=row,
            channels=channels))
    return documents  # a repeated id costs only its own line: see check_unique


def html_to_text(html: str) -> tuple[str, str]:
    """Visible text with headings kept as Markdown headings, so chunks follow sections."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "noscript", "nav", "footer", "header", "template"]):
        tag.decompose()
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for level in range(1, 7):
        for heading in soup.find_all(f"h{level}"):
            heading.replace_with(f"\n\n{'#' * level} {heading.get_text(' ', strip=True)}\n\n")
    if soup.title:
        soup.title.decompose()
    if not title:
        title = markdown.title(soup.get_text())
    text = soup.get_text("\n")
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r"\n\s*\n\s*(\n\s*)+", "\n\n", text).strip()
    return title, text


def fetch_url(url: str, policy: HostPolicy = PUBLIC_WEB, max_bytes: int = MAX_URL_BYTES,
              deadline_s: float = URL_DEADLINE_S) -> Document:
    """A page as a document, fetched by engine/knowledge/web.py under `policy` (public
    addresses only, redirects checked, a whole-fetch deadline). Its id and url are the
    URL it was asked for, whatever its front matter says, so a page cannot stand in for
    another document."""
    try:
        page = fetch(url, policy, max_bytes=max_bytes, deadline_s=deadline_s)
    except (FetchRefused, FetchFailed) as exc:
        raise IngestError(str(exc)) from exc
    if page.status != 200:
        raise IngestError(f"{url}: answered HTTP {page.status}")
    content_type = page.content_type
    if content_type not in URL_CONTENT_TYPES:
        raise IngestError(f"{url}: content type {content_type or '(none)'} is not a "
                          "page Argot can read (HTML, Markdown or plain text)")
    text = decode(page.body, url)
    if content_type in {"text/html", "application/xhtml+xml"}:
        title, text = html_to_text(text)
    elif content_type == "text/markdown":
        parsed = parse_markdown(text, url, url, fallback_title=url.rsplit("/", 1)[-1] or url)
        return replace(parsed, doc_id=url, url=url)
    else:
        title = url.rsplit("/", 1)[-1] or url
    return Document(doc_id=url, title=title or url, text=text, source=url, url=url)
