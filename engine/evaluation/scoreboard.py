"""A model comparison as people read it: a terminal table, a Markdown table, a bar chart."""

from __future__ import annotations

from pathlib import Path

from engine.evaluation.compare import Comparison, ComparisonRow

COLUMNS = ("model", "mode", "nDCG@10", "MRR@10", "R@1", "R@5", "R@10", "dim", "size MB",
           "docs/s", "query ms")


def cells(row: ComparisonRow) -> list[str]:
    def number(value: float | None, digits: int) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    if row.scores is None:
        return [row.name, row.mode, *["-"] * 9]
    scores = row.scores
    return [row.name, row.mode, f"{scores.ndcg_at_10:.3f}", f"{scores.mrr_at_10:.3f}",
            f"{scores.recall_at_1:.3f}", f"{scores.recall_at_5:.3f}", f"{scores.recall_at_10:.3f}",
            "-" if row.dimension is None else str(row.dimension),
            number(row.size_bytes / 1e6 if row.size_bytes else None, 0),
            number(row.docs_per_second, 0) + ("*" if row.cached else ""),
            number(row.query_ms, 1)]


def heading(comparison: Comparison) -> str:
    source = f" from {comparison.query_source}" if comparison.query_source else ""
    return (f"{comparison.queries} questions{source}; corpus: {comparison.documents} documents "
            f"({comparison.chunks} chunks)")


def render_text(comparison: Comparison) -> str:
    """The table for a terminal: aligned columns, the best row marked, failures below."""
    best = comparison.best()
    table = [list(COLUMNS)] + [cells(row) for row in comparison.rows if not row.error]
    marks = [""] + ["◀ best" if row is best else "" for row in comparison.rows if not row.error]
    widths = [max(len(line[col]) for line in table) for col in range(len(COLUMNS))]
    lines = [heading(comparison), ""]
    for line, mark in zip(table, marks, strict=True):
        padded = [cell.ljust(w) if col < 2 else cell.rjust(w)
                  for col, (cell, w) in enumerate(zip(line, widths, strict=True))]
        lines.append("  ".join(padded + ([mark] if mark else [])).rstrip())
    if any(row.cached for row in comparison.rows):
        lines.append("* docs/s measured when the embeddings were cached")
    for row in comparison.failed:
        if row.mode == next(r.mode for r in comparison.rows if r.name == row.name):
            lines.append(f"failed: {row.name}: {row.error}")
    return "\n".join(lines)


def render_markdown(comparison: Comparison) -> str:
    best = comparison.best()
    lines = [f"| {' | '.join(COLUMNS)} |", "|" + "|".join(["---"] * 2 + ["---:"] * 9) + "|"]
    for row in comparison.rows:
        if row.error:
            lines.append(f"| {row.name} | {row.mode} | failed: {row.error} |" + " |" * 8)
            continue
        line = cells(row)
        if row is best:
            line = [f"**{cell}**" for cell in line]
        lines.append(f"| {' | '.join(line)} |")
    return "\n".join(lines)


def draw_comparison(comparison: Comparison, out: Path) -> Path:
    """Grouped bars: nDCG@10, MRR@10 and Recall@1/5/10 for every row."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = [row for row in comparison.rows if row.scores]
    metrics = [("nDCG@10", "ndcg_at_10"), ("MRR@10", "mrr_at_10"), ("R@1", "recall_at_1"),
               ("R@5", "recall_at_5"), ("R@10", "recall_at_10")]
    figure = Figure(figsize=(max(7.0, 1.6 * len(rows) + 3), 5.0), dpi=110)
    canvas = FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    positions = np.arange(len(rows))
    width = 0.8 / len(metrics)
    for i, (label, attribute) in enumerate(metrics):
        values = [getattr(row.scores, attribute) for row in rows]
        axes.bar(positions + (i - len(metrics) / 2 + 0.5) * width, values, width, label=label)
    axes.set_xticks(positions)
    axes.set_xticklabels([f"{row.name}\n{row.mode}" for row in rows], fontsize=8)
    axes.set_ylim(0, 1)
    axes.set_title(heading(comparison), fontsize=9)
    axes.legend(fontsize=8, ncols=len(metrics), loc="upper center", bbox_to_anchor=(0.5, -0.15))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    canvas.print_figure(str(out))
    return out
