"""The learning report as people read it: in the terminal (`argot train`) and in the ops
channel (`ARGOT_OPS_CHANNEL`), where the embedding-space picture is uploaded with it."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.learning.report import CycleReport

log = logging.getLogger(__name__)

METRICS = (("nDCG@10", "ndcg@10"), ("MRR@10", "mrr@10"), ("Recall@1", "recall@1"),
           ("Recall@5", "recall@5"), ("Recall@10", "recall@10"))
MARKS = {"promoted": "✅", "rejected": "⛔", "skipped": "⏭️", "failed": "❌"}


def describe(report: CycleReport) -> str:
    """Plain text, a few lines: the decision and why, the data, the metrics, the time."""
    decision = report.decision
    lines = [f"{MARKS.get(decision, '')} Learning cycle: {decision.upper()}".strip()]
    candidate, active = report.candidate_version, report.active_version
    if decision == "promoted":
        lines.append(f"Active model is now {active}.")
    elif candidate:
        lines.append(f"Candidate {candidate} discarded; {active} stays active.")
    lines.append(f"Why: {report.reason or '-'}")
    if decision == "skipped" and not report.pairs:
        return "\n".join(lines)
    sources = ", ".join(f"{n} {s}" for s, n in sorted(report.pairs_by_source.items()))
    negatives = report.negatives
    explicit = ", ".join(f"{n} {kind}" for kind, n in negatives.items()
                         if kind not in ("mined", "dropped_near_positive") and n)
    lines.append(f"Data: {report.pairs} pairs" + (f" ({sources})" if sources else "")
                 + f", {report.hard_negatives} hard negatives mined"
                 + (f" ({negatives.get('dropped_near_positive')} dropped as too close to the "
                    "positive)" if negatives.get("dropped_near_positive") else "")
                 + (f", explicit negatives: {explicit}" if explicit else ""))
    training = report.training
    if training:
        alpha = report.alpha
        lines.append(f"Training: {training.get('loss_function', '').upper()}, {training.get('steps')} "
                     f"steps on {training.get('rows')} rows"
                     + (f" ({training['epochs']:g} epochs)" if training.get("epochs") else "")
                     + (f", blended with the base at {alpha:g}" if alpha is not None and alpha < 1 else ""))
    from engine.learning.report import describe_levers

    lines += describe_levers(report.levers, report.learnt if decision == "promoted" else [])
    table = metrics_table(report)
    if table:
        lines.append(table)
    if report.seconds:
        detail = ", ".join(f"{name} {seconds:.0f}s" for name, seconds in report.phases.items())
        lines.append(f"Time: {report.seconds:.0f}s ({detail})")
    return "\n".join(lines)


def metrics_table(report: CycleReport) -> str:
    sets = [("held-out", report.metrics or {}), ("gold", report.gold or {})]
    rows = []
    for label, found in sets:
        before, after = found.get("active") or {}, found.get("candidate") or {}
        if not before or not after:
            continue
        rows.append(f"{label} ({after.get('queries', 0)} questions)   active → candidate")
        for name, key in METRICS:
            if key in before and key in after:
                rows.append(f"  {name:<10} {before[key]:.3f} → {after[key]:.3f}  "
                            f"({after[key] - before[key]:+.3f})")
    return "\n".join(rows)


def post_report(report: CycleReport, channel: str | None, client: Any) -> bool:
    """Post the report to `channel` with its picture; False when not configured or when
    Slack refused (logged: a report that cannot be posted must not fail the cycle)."""
    if not channel or client is None:
        return False
    text = describe(report)
    try:
        posted = client.chat_postMessage(channel=channel, text=text, unfurl_links=False)
        image = report.image
        if image and Path(image).is_file():
            client.files_upload_v2(channel=posted["channel"], thread_ts=posted["ts"],
                                   file=str(image), filename=Path(image).name,
                                   title="Embedding space before and after",
                                   initial_comment="Documents (dots) and rated questions (×), "
                                                   "coloured by topic: before → after")
        return True
    except Exception as exc:  # noqa: BLE001 - slack_sdk raises several kinds
        log.warning("could not post the learning report to %s: %s", channel, exc)
        return False


def slack_client(settings: Any) -> Any:
    """The bot's Web API client (bot/slack_client.py), or None without a bot token."""
    if not settings.slack_bot_token:
        return None
    from bot.slack_client import build_client

    return build_client(settings)
