"""Every collection that holds a document follows its latest visibility and its removal.

A document lives in several Chroma collections: the text index of each model version
(the active one, the previous ones kept for rollback, a candidate being trained), and,
for each CLIP model ever configured, its pictures and its CLIP text embedding. Only the
active text collection (and, when image search is on, the current CLIP pair) is
re-embedded on ingest. So that restricting a document to a channel, or forgetting it,
cannot leave a public copy behind in a collection that is not in use *now* (image search
switched off, an older model rolled back to later), these two verbs reach every Argot
collection, whatever is configured at the time:

- `forget_everywhere(client, doc_id)`: delete the document's entries from all of them;
- `follow_visibility(client, documents)`: rewrite the visibility flags (`public`,
  `ch.<CHANNEL>`) of the documents' entries to the documents' current `channels`. A
  channel no longer allowed keeps its key set to False (Chroma merges metadata on
  update), which `engine.index.visibility_filter` reads as not allowed.

Both bump the generation of each collection they change, so cached BM25 indexes rebuild.

Example:
    >>> forget_everywhere(client, "runbooks/secret")
    3
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from engine.errors import IngestError
from engine.index import ChunkIndex
from engine.types import Document

log = logging.getLogger(__name__)

ARGOT_PREFIX = "argot-"
"""Every collection Argot writes (`argot-docs-`, `argot-images-`, `argot-cliptext-`)."""
BATCH = 500
CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]+")
LOOKALIKE_KEYS = {"channels", "channel", "visibility", "visible", "visible_in", "private", "public",
                  "audience", "restricted", "restrict"}
"""Keys that look like an attempt at visibility: anything but exactly `channels` is an error."""


def parse_channels(fields: Mapping[str, Any], where: str, *, listed: bool) -> tuple[str, ...] | None:
    """The `channels` a document may be shown in, from its front matter or JSONL row.

    None (visible everywhere) only when no visibility key is there at all. A lookalike
    key (`Channels`, `channel`, `visibility`, ...), an empty value, or anything but Slack
    channel ids raises `IngestError` naming `where`, so the document is skipped, never
    made public by a typo. `listed` (JSONL) wants a JSON list of ids; front matter a
    comma-separated line.
    """
    for key in fields:
        if key != "channels" and key.strip().lower().replace("-", "_") in LOOKALIKE_KEYS:
            raise IngestError(f"{where}: unknown visibility key {key!r}; write `channels` "
                              "(lower case) with the channel ids, or leave it out for a public "
                              "document. Not indexed")
    if "channels" not in fields:
        return None
    value = fields["channels"]
    if listed:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise IngestError(f"{where}: `channels` must be a JSON list of channel ids such as "
                              f'["C0123ABCD"], not {json_type(value)}. Not indexed')
        channels = [item.strip() for item in value]
    elif isinstance(value, str):
        channels = [part.strip() for part in value.split(",")]
    else:
        raise IngestError(f"{where}: `channels` must be channel ids separated by commas. Not indexed")
    bad = [channel for channel in channels if not CHANNEL_ID.fullmatch(channel)]
    if not channels or bad or not any(channels):
        raise IngestError(f"{where}: `channels` needs one or more Slack channel ids (C…, G… or D…)"
                          + (f"; {', '.join(map(repr, bad[:3]))} is not one" if bad else "")
                          + ". Not indexed")
    return tuple(dict.fromkeys(channels))


def json_type(value: Any) -> str:
    return {bool: "true/false", str: "a string", int: "a number", float: "a number",
            dict: "an object", type(None): "null"}.get(type(value), "a list of non-strings")


def argot_collections(client: Any, skip: Iterable[str] = ()) -> list[ChunkIndex]:
    """Every Argot collection in this Chroma, but those named in `skip`."""
    skipped = set(skip)
    names = sorted(getattr(c, "name", c) for c in client.list_collections())
    return [ChunkIndex(client, name, prefix="") for name in names
            if name.startswith(ARGOT_PREFIX) and name not in skipped]


def forget_everywhere(client: Any, doc_id: str) -> int:
    """Remove a document from every Argot collection; how many entries went."""
    return sum(index.delete_document(doc_id) for index in argot_collections(client))


def visibility_flags(document: Document, old: dict[str, Any]) -> dict[str, Any]:
    """The visibility keys an entry of `document` must carry, given its current metadata."""
    flags: dict[str, Any] = {key: False for key, value in old.items()
                             if key.startswith("ch.") and value is True}
    flags["public"] = document.channels is None
    for channel in document.channels or ():
        flags[f"ch.{channel}"] = True
    return flags


def follow_visibility(client: Any, documents: Sequence[Document], skip: Iterable[str] = ()) -> int:
    """Give the entries of these documents, in every Argot collection but `skip`, the
    documents' current visibility; how many entries changed."""
    if not documents:
        return 0
    by_id = {document.doc_id: document for document in documents}
    ids = sorted(by_id)
    changed = 0
    for index in argot_collections(client, skip):
        collection = client.get_collection(index.chroma_name, embedding_function=None)
        updates: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), BATCH):
            got = collection.get(where={"doc_id": {"$in": ids[start:start + BATCH]}},
                                 include=["metadatas"])
            for entry_id, meta in zip(got["ids"], got["metadatas"] or [], strict=True):
                flags = visibility_flags(by_id[meta["doc_id"]], meta)
                if any(meta.get(key) != value for key, value in flags.items()):
                    updates[entry_id] = {**meta, **flags}
        if updates:
            entry_ids = list(updates)
            for start in range(0, len(entry_ids), BATCH):
                part = entry_ids[start:start + BATCH]
                collection.update(ids=part, metadatas=[updates[i] for i in part])
            index.bump_generation()
            log.info("%s: visibility of %d entries follows their documents", index.chroma_name,
                     len(updates))
            changed += len(updates)
    return changed
