"""Which pictures belong to which document, and the words around each one.

A picture is worth indexing with the text that explains it. Markdown and HTML
documents link their diagrams (`![alt](img/flow.png)`, `<img src=... alt=...>`); each
linked local image is tied to its document, with its alt text, caption, the paragraph
it sits in and the section heading as its context. Image files that nothing links
are documents of their own, named after the file (`checkout-architecture.png` is
"checkout architecture"), unless a text document has the same id
(`runbooks/deploy.png` beside `runbooks/deploy.md`), whose picture they then are.

Only local files are followed: links with a scheme (`https:`, `data:`), absolute
paths and links that do not resolve to a PNG, JPEG or WebP file are skipped, and so
is any link that leaves the ingested folder (`../../secrets/key.png`, or a symlink
pointing out of it): a document cannot pull in files from elsewhere on the machine.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from engine.knowledge import markdown
from engine.knowledge.sources import IMAGE_SUFFIXES
from engine.types import Document

CONTEXT_CHARS = 500
SHORT_PARAGRAPH = 40
"""A paragraph shorter than this (often just the image) borrows the one before it."""

MD_IMAGE = re.compile(r"!\[([^\]]*)\]\(\s*<?([^)\s>]+)>?(?:\s+[\"'(]([^\"')]*)[\"')])?\s*\)")
MD_REF_IMAGE = re.compile(r"!\[([^\]]*)\]\[([^\]]*)\]")
MD_REF_DEF = re.compile(r"^\s{0,3}\[([^\]]+)\]:\s*<?(\S+?)>?(?:\s+[\"'(]([^\"')]*)[\"')])?\s*$",
                        re.MULTILINE)
HTML_IMG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
HTML_ATTR = re.compile(r"""\b(src|alt|title)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""",
                       re.IGNORECASE)
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


@dataclass(frozen=True)
class ImageRef:
    """One picture of a document: the file, and the words that explain it."""

    path: Path
    context: str
    heading: str = ""


@dataclass
class DocumentImages:
    """A document and its pictures (for a lone image file, a stand-in document)."""

    document: Document
    images: list[ImageRef] = field(default_factory=list)


def resolve(src: str, folder: Path, root: Path | None = None) -> Path | None:
    """The local image file a link points at, inside `root` (default: `folder`), or
    None for anything else."""
    src = src.strip()
    if not src or SCHEME.match(src) or src.startswith(("/", "\\", "#")):
        return None
    src = unquote(src.split("#", 1)[0].split("?", 1)[0])
    path = (folder / src).resolve()
    if not path.is_relative_to((root or folder).resolve()):
        return None
    if path.suffix.lower() not in IMAGE_SUFFIXES or not path.is_file():
        return None
    return path


def ingested_root(document: Document, source: Path) -> Path:
    """The folder `argot ingest` was given: the source path less the document id's
    folders (`kb/runbooks/deploy.md` with id `runbooks/deploy` → `kb`); the document's
    own folder when the id does not follow the path (front matter `id:`)."""
    parts = document.doc_id.split("/")
    tail = source.with_suffix("").parts[-len(parts):]
    if list(tail) == parts and len(source.parts) > len(parts):
        return Path(*source.parts[:-len(parts)])
    return source.parent


def clip_context(*parts: str) -> str:
    seen: list[str] = []
    for part in parts:
        part = " ".join(part.split())
        if part and not any(part in earlier for earlier in seen):
            seen.append(part)
    return " — ".join(seen)[:CONTEXT_CHARS]


def markdown_images(text: str, folder: Path, root: Path | None = None) -> list[ImageRef]:
    """Images linked from Markdown (inline, reference-style and <img> tags)."""
    definitions = {label.lower(): (src, title or "") for label, src, title in MD_REF_DEF.findall(text)}
    refs: list[ImageRef] = []
    heading, previous = "", ""
    for block in markdown.paragraphs(text):
        paragraph = "\n".join(line.text for line in block)
        heading = next((line.heading.text for line in reversed(block) if line.heading), heading)
        found: list[tuple[str, str, str]] = []
        for alt, src, title in MD_IMAGE.findall(paragraph):
            found.append((src, alt, title))
        for alt, label in MD_REF_IMAGE.findall(paragraph):
            src, title = definitions.get((label or alt).lower(), ("", ""))
            found.append((src, alt, title))
        for tag in HTML_IMG.findall(paragraph):
            attrs = {m.group(1).lower(): next(g for g in m.groups()[1:] if g is not None)
                     for m in HTML_ATTR.finditer(tag)}
            found.append((attrs.get("src", ""), attrs.get("alt", ""), attrs.get("title", "")))
        prose = "\n".join(line.text for line in block
                           if line.heading is None and not MD_REF_DEF.match(line.text))
        prose = HTML_IMG.sub(" ", MD_IMAGE.sub(lambda m: m.group(1), prose))
        prose = " ".join(MD_REF_IMAGE.sub(lambda m: m.group(1), prose).splitlines())
        for src, alt, title in found:
            path = resolve(src, folder, root)
            if path is None:
                continue
            borrowed = previous if len(prose.strip()) < SHORT_PARAGRAPH else ""
            refs.append(ImageRef(path, clip_context(alt, title, prose, borrowed, heading), heading))
        if prose.strip():
            previous = prose
    return refs


def html_images(html: str, folder: Path, root: Path | None = None) -> list[ImageRef]:
    """Images in an HTML page, with alt text, figure caption, block text and heading."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    refs: list[ImageRef] = []
    for img in soup.find_all("img"):
        path = resolve(str(img.get("src") or ""), folder, root)
        if path is None:
            continue
        figure = img.find_parent("figure")
        caption = figure.find("figcaption") if figure else None
        block = img.find_parent(["p", "figure", "li", "td", "div", "section"])
        block_text = block.get_text(" ", strip=True) if block else ""
        before = ""
        if len(block_text) < SHORT_PARAGRAPH and block is not None:
            sibling = block.find_previous_sibling(["p", "div", "ul", "ol"])
            before = sibling.get_text(" ", strip=True) if sibling else ""
        heading_tag = img.find_previous(["h1", "h2", "h3", "h4", "h5", "h6"])
        heading = heading_tag.get_text(" ", strip=True) if heading_tag else ""
        refs.append(ImageRef(path, clip_context(
            str(img.get("alt") or ""), str(img.get("title") or ""),
            caption.get_text(" ", strip=True) if caption else "", block_text, before, heading),
            heading))
    return refs


def linked_images(document: Document) -> list[ImageRef]:
    """The local images a Markdown or HTML document links, once each, in order."""
    source = Path(document.source) if document.source else None
    if source is None or not source.is_file():
        return []  # JSONL lines and URLs: nothing local to follow
    suffix = source.suffix.lower()
    root = ingested_root(document, source)
    if suffix in {".md", ".markdown"}:
        refs = markdown_images(document.text, source.parent, root)
    elif suffix in {".html", ".htm"}:
        try:
            refs = html_images(source.read_text(encoding="utf-8-sig", errors="replace"),
                               source.parent, root)
        except OSError:
            return []
    else:
        return []
    unique: dict[Path, ImageRef] = {}
    for ref in refs:
        unique.setdefault(ref.path, ref)
    return list(unique.values())


def humanise(stem: str) -> str:
    return " ".join(re.sub(r"[-_.]+", " ", stem).split()) or stem


def group_images(documents: Sequence[Document], image_files: Sequence[tuple[Path, str]]
                 ) -> list[DocumentImages]:
    """Every picture tied to its document: linked images first, then image files that
    share a text document's id, then lone image files as documents of their own."""
    by_id = {document.doc_id: document for document in documents}
    groups: dict[str, DocumentImages] = {}
    linked: set[Path] = set()
    for document in documents:
        refs = linked_images(document)
        if refs:
            groups[document.doc_id] = DocumentImages(document, refs)
            linked.update(ref.path for ref in refs)
    for path, image_id in image_files:
        resolved = path.resolve()
        if resolved in linked:
            continue
        document = by_id.get(image_id)
        if document is not None:
            context = clip_context(document.title, document.text[:CONTEXT_CHARS])
        else:
            title = humanise(path.stem)
            document = Document(doc_id=image_id, title=title, text=f"Image: {title}",
                                source=str(path))
            context = title
        group = groups.setdefault(image_id, DocumentImages(document))
        if all(ref.path != resolved for ref in group.images):
            group.images.append(ImageRef(resolved, context))
    return list(groups.values())
