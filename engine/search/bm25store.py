"""BM25 indexes saved on disk, one per collection generation, memory-mapped when read.

Building BM25 tokenizes every chunk of a collection: seconds at 100k chunks, paid by
every cold `argot ask` and every bot start. A collection's contents change only when
its generation does (`ChunkIndex.generation`), so the built index is saved under a key
made of the collection's Chroma name, its Chroma id (a collection deleted and made
again is another one) and its generation; whichever process needs it next (the CLI, the
bot, another bot on the same disk) loads it with `bm25s.BM25.load(mmap=True)` instead of
rebuilding. Only the newest generation of a collection is kept.

The folder is `bm25/` beside Chroma's under ARGOT_HOME. A Chroma server (CHROMA_HOST)
has no local folder: there every process builds its own, as before.

Files of one saved index: bm25s' own (`*.index.npy`, `vocab.index.json`,
`params.index.json`) and `chunks.jsonl` (each chunk and the channels that may see it).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any

from engine.index import ChunkIndex
from engine.types import Chunk

log = logging.getLogger(__name__)

CHUNKS_FILE = "chunks.jsonl"
FOLDER = "bm25"


def cache_folder(index: ChunkIndex) -> Path | None:
    """Where `index`'s BM25 indexes are saved: `bm25/` beside an embedded Chroma's folder;
    None for a Chroma server."""
    settings = index.client.get_settings()
    if not getattr(settings, "is_persistent", False) or not settings.persist_directory:
        return None
    return Path(settings.persist_directory).parent / FOLDER


def key(index: ChunkIndex, generation: int) -> str:
    return f"{index.chroma_name}-{index.uuid}-g{generation}"


def save(folder: Path, name: str, model: Any, chunks: list[tuple[Chunk, dict[str, Any]]]) -> None:
    """Save a built index as `folder/name` (atomically: a reader sees all of it or
    nothing), then remove the older generations of the same collection."""
    prefix = name.rsplit("-g", 1)[0] + "-g"
    target = folder / name
    if target.exists():
        return
    folder.mkdir(parents=True, exist_ok=True)
    staging = folder / f".{name}.{os.getpid()}.tmp"
    try:
        model.save(str(staging), show_progress=False)
        with (staging / CHUNKS_FILE).open("w", encoding="utf-8") as out:
            for chunk, metadata in chunks:
                visible = {k: v for k, v in metadata.items() if k == "public" or k.startswith("ch.")}
                out.write(json.dumps({"chunk": asdict(chunk), "visible": visible}) + "\n")
        os.replace(staging, target)
    except OSError as exc:  # another process saved it first, or the disk is full
        if not target.exists():
            log.warning("could not save the BM25 index to %s: %s", target, exc)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    for old in folder.glob(f"{prefix}*"):
        if old.name != name:
            shutil.rmtree(old, ignore_errors=True)


def load(folder: Path, name: str) -> tuple[Any, list[tuple[Chunk, dict[str, Any]]]] | None:
    """(the bm25s model, memory-mapped; the chunks and their visibility) saved as
    `folder/name`, or None when there is none (or it cannot be read: it is rebuilt)."""
    import logging as logging_

    import bm25s

    logging_.getLogger("bm25s").setLevel(logging_.WARNING)
    where = folder / name
    if not (where / CHUNKS_FILE).is_file():
        return None
    try:
        model = bm25s.BM25.load(str(where), mmap=True, show_progress=False)
        chunks = []
        with (where / CHUNKS_FILE).open(encoding="utf-8") as lines:
            for line in lines:
                row = json.loads(line)
                chunks.append((Chunk(**row["chunk"]), row["visible"]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("the saved BM25 index %s cannot be read (%s); rebuilding it", where, exc)
        shutil.rmtree(where, ignore_errors=True)
        return None
    return model, chunks
