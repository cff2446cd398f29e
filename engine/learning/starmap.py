"""The star map: documents (and rated questions) as points on a 2-D projection.

Each document is one point, coloured by its topic (the first segment of its id, e.g.
`runbooks/mistral-failover` → runbooks, or its source folder); questions are crosses
in the colour of the document they were rated relevant to. Tight same-colour clusters
mean the model separates the team's topics; a document far from everything is an
outlier worth a look (its name is written next to it).

Tip:
    PCA (the default) is fast and deterministic, so two maps of the same space look
    the same. t-SNE shows local clusters better on a few hundred documents or more
    but takes longer and moves between runs.

Example:
    >>> points = StarMapPoints(vectors, ["glossary", "runbooks"], ["glossary/rlq", "runbooks/x"])
    >>> draw_star_map(points, None, Path("map.png"), "Quayline, all-MiniLM-L6-v2")
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:
    from engine.embedders import TextEmbedder
    from engine.evaluation.corpus import EvalCorpus
    from engine.evaluation.querysets import QuerySet
    from engine.evaluation.vectors import EmbeddingCache

Projection = Literal["pca", "tsne"]
MAX_LEGEND = 12
OUTLIERS_NAMED = 6


@dataclass(frozen=True)
class StarMapPoints:
    """Vectors with a label (topic, for colour) and a name (doc id or question) each."""

    vectors: np.ndarray
    labels: list[str]
    names: list[str]

    def __post_init__(self) -> None:
        rows = len(self.vectors)
        if len(self.labels) != rows or len(self.names) != rows:
            raise ValueError(f"{rows} vectors but {len(self.labels)} labels and "
                             f"{len(self.names)} names")


def public_documents(chunks: Iterable[tuple[Any, dict[str, Any]]]) -> set[str]:
    """The ids of documents every channel may see, from (chunk, metadata) pairs
    (`ChunkIndex.iter_chunks(texts=False)`). A map posted to a channel (the learning
    report in ARGOT_OPS_CHANNEL) shows only these: no private id, topic or dot."""
    return {meta["doc_id"] for _, meta in chunks if meta.get("public") is True}


def keep_rows(points: StarMapPoints, keep: Sequence[bool]) -> StarMapPoints:
    """The points whose `keep` is True, in order."""
    rows = [i for i, kept in enumerate(keep) if kept]
    return StarMapPoints(np.asarray(points.vectors)[rows] if rows else points.vectors[:0],
                         [points.labels[i] for i in rows], [points.names[i] for i in rows])


def topic_of(doc_id: str, source: str = "") -> str:
    """`runbooks/x` → runbooks; an id without a folder falls back to its source folder."""
    if "/" in doc_id:
        return doc_id.split("/", 1)[0]
    if source and not source.startswith(("http://", "https://")):
        parent = Path(source).parent.name
        if parent:
            return parent
    return "other"


def project(vectors: np.ndarray, method: Projection = "pca", seed: int = 0) -> np.ndarray:
    """Two coordinates per row; degenerate inputs (0 or 1 rows) land on the origin."""
    vectors = np.asarray(vectors, dtype=np.float32)
    rows = len(vectors)
    if rows < 2 or vectors.ndim != 2:
        return np.zeros((rows, 2), dtype=np.float32)
    if method == "tsne" and rows > 4:
        from sklearn.manifold import TSNE

        perplexity = float(min(30, max(2, (rows - 1) // 3)))
        coords = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed,
                      metric="cosine").fit_transform(vectors)
        return np.asarray(coords, dtype=np.float32)
    from sklearn.decomposition import PCA

    components = min(2, rows, vectors.shape[1])
    coords = PCA(n_components=components, random_state=seed).fit_transform(vectors)
    if components < 2:
        coords = np.hstack([coords, np.zeros((rows, 2 - components))])
    return np.asarray(coords, dtype=np.float32)


def outliers(vectors: np.ndarray, count: int = OUTLIERS_NAMED) -> list[int]:
    """Rows whose nearest neighbour is farthest away (lowest best cosine similarity)."""
    rows = len(vectors)
    if rows < 3 or count < 1:
        return []
    normed = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    similarity = normed @ normed.T
    np.fill_diagonal(similarity, -np.inf)
    nearest = similarity.max(axis=1)
    return [int(i) for i in np.argsort(nearest)[:min(count, rows // 10 + 1)]]


def draw_star_map(documents: StarMapPoints, questions: StarMapPoints | None, out: Path,
                  title: str, *, method: Projection = "pca") -> Path:
    """Draw one map to `out` (PNG, or any format matplotlib knows by the suffix).

    Args:
        documents: one point per document.
        questions: rated questions, drawn as crosses; None or empty for none.
        out: the file to write; its folder is created.
        title: shown above the map (the model version, say).
        method: "pca" or "tsne".

    Returns:
        `out`.
    """
    figure, canvas = _figure(width=9.0)
    axes = figure.add_subplot(1, 1, 1)
    coords = _coordinates([documents, questions], method)
    _plot(axes, documents, questions, coords, title)
    return _save(figure, canvas, out)


def draw_before_after(before: tuple[StarMapPoints, StarMapPoints | None],
                      after: tuple[StarMapPoints, StarMapPoints | None], out: Path,
                      *, titles: tuple[str, str] = ("before", "after"),
                      method: Projection = "pca") -> Path:
    """Two maps side by side: the same documents in the old and the new embedding space.

    The "after" map is rotated and mirrored (orthogonal Procrustes on the documents
    both maps share) to line up with the "before" map, so that what moved stands out
    rather than an arbitrary flip of the projection.
    """
    figure, canvas = _figure(width=16.0)
    before_coords = _coordinates(list(before), method)
    after_coords = _coordinates(list(after), method)
    after_coords = align_to(after_coords, before_coords, after[0].names, before[0].names)
    for column, (side, coords, title) in enumerate(
            [(before, before_coords, titles[0]), (after, after_coords, titles[1])], start=1):
        axes = figure.add_subplot(1, 2, column)
        _plot(axes, side[0], side[1], coords, title)
    return _save(figure, canvas, out)


def star_points(embedder: TextEmbedder, corpus: EvalCorpus, queries: QuerySet | None = None,
                cache: EmbeddingCache | None = None) -> tuple[StarMapPoints, StarMapPoints | None]:
    """Documents (mean of their chunk vectors) and questions in one model's space.

    A question takes the colour of the first document it was rated relevant to. For a
    learning report: `draw_before_after(star_points(old, ...), star_points(new, ...), out)`.
    """
    from engine.evaluation.vectors import EmbeddingCache

    chunk_vectors = (cache or EmbeddingCache(None)).corpus_vectors(embedder, corpus).vectors
    sources: dict[str, str] = {}
    for chunk in corpus.chunks:
        sources.setdefault(chunk.doc_id, chunk.source)
    doc_ids = list(corpus.doc_ids)
    documents = StarMapPoints(corpus.document_vectors(chunk_vectors),
                              [topic_of(d, sources[d]) for d in doc_ids], doc_ids)
    if not queries or not len(queries):
        return documents, None
    vectors = embedder.embed_batch(queries.texts, "query")
    labels = [topic_of(sorted(q.relevant)[0], sources.get(sorted(q.relevant)[0], ""))
              for q in queries]
    return documents, StarMapPoints(vectors, labels, queries.texts)


# -- drawing -----------------------------------------------------------------------------


def _figure(width: float) -> tuple[Any, Any]:
    # The object API with the Agg canvas: no pyplot global state, no display needed.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, 7.5), dpi=110)
    return figure, FigureCanvasAgg(figure)


def _coordinates(parts: Sequence[StarMapPoints | None], method: Projection) -> np.ndarray:
    present = [p.vectors for p in parts if p is not None and len(p.vectors)]
    if not present:
        return np.zeros((0, 2), dtype=np.float32)
    return project(np.vstack(present), method)


def align_to(moving: np.ndarray, fixed: np.ndarray, moving_names: list[str],
             fixed_names: list[str]) -> np.ndarray:
    """Rotate/mirror `moving` 2-D points onto `fixed`, matching rows by name."""
    from scipy.linalg import orthogonal_procrustes

    where = {name: row for row, name in enumerate(fixed_names)}
    shared = [(row, where[name]) for row, name in enumerate(moving_names) if name in where]
    if len(shared) < 3:
        return moving
    source = moving[[m for m, _ in shared]]
    target = fixed[[f for _, f in shared]]
    centre_s, centre_t = source.mean(axis=0), target.mean(axis=0)
    rotation, _ = orthogonal_procrustes(source - centre_s, target - centre_t)
    return ((moving - centre_s) @ rotation + centre_t).astype(np.float32)


def _palette(labels: Sequence[str]) -> dict[str, Any]:
    from matplotlib import colormaps

    ranked = [label for label, _ in Counter(labels).most_common()]
    colours = colormaps["tab10" if len(ranked) <= 10 else "tab20"]
    shown = ranked[:MAX_LEGEND]
    palette = {label: colours(i % colours.N) for i, label in enumerate(shown)}
    for label in ranked[MAX_LEGEND:]:
        palette[label] = (0.6, 0.6, 0.6, 1.0)  # grey: too many topics to tell apart
    return palette


def _plot(axes: Any, documents: StarMapPoints, questions: StarMapPoints | None,
          coords: np.ndarray, title: str) -> None:
    doc_count = len(documents.vectors)
    doc_xy, question_xy = coords[:doc_count], coords[doc_count:]
    palette = _palette(list(documents.labels) + list(questions.labels if questions else []))
    for label in palette:
        rows = [i for i, value in enumerate(documents.labels) if value == label]
        if rows:
            axes.scatter(doc_xy[rows, 0], doc_xy[rows, 1], s=28, color=palette[label], alpha=0.8,
                         label=label if list(palette).index(label) < MAX_LEGEND else None)
    if questions is not None and len(questions.vectors):
        colours = [palette[label] for label in questions.labels]
        axes.scatter(question_xy[:, 0], question_xy[:, 1], s=34, marker="x", c=colours,
                     linewidths=1.2, label="questions (×)")
    for row in outliers(documents.vectors):
        axes.annotate(documents.names[row], doc_xy[row], fontsize=7, alpha=0.8,
                      xytext=(4, 4), textcoords="offset points")
    if doc_count == 0:
        axes.text(0.5, 0.5, "no documents in the index", ha="center", va="center",
                  transform=axes.transAxes)
    axes.set_title(f"{title}\n{doc_count} documents"
                   + (f", {len(questions.vectors)} questions" if questions is not None else ""),
                   fontsize=10)
    axes.set_xticks([])
    axes.set_yticks([])
    if doc_count:
        axes.legend(loc="best", fontsize=7, framealpha=0.7)


def _save(figure: Any, canvas: Any, out: Path) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    canvas.print_figure(str(out))
    return out
