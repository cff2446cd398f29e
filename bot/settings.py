"""Settings from the environment and a `.env` file, checked once at start-up.

A missing or wrong setting raises `SettingsError` with one line that names it. This is
the only place that reads Argot's configuration: the learning cycle's settings are
parsed here too, and `bot.services.Services.learning_config` derives the engine's
`LearningConfig` from them (a learning setting left unset, None here, takes the
engine's default).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import ArgotError
from engine.search.fusion import MODES as RETRIEVAL_MODES

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
QUERY_ENCODERS = ("onnx", "torch")
DEFAULT_TRAIN_SCHEDULE = "0 3 * * *"


class SettingsError(ArgotError):
    """A setting is missing or malformed; the message names it."""


@dataclass(frozen=True)
class Settings:
    home: Path
    model: str | None = None
    clip_model: str = "ViT-B-32"
    clip_pretrained: str = "laion2b_s34b_b79k"
    chroma_host: str | None = None
    chroma_port: int = 8000
    database_url: str | None = None
    retrieval: str = "hybrid"
    query_encoder: str = "onnx"
    """ARGOT_QUERY_ENCODER: "onnx" embeds questions through ONNX Runtime (exported once
    per model, the same vectors), "torch" through PyTorch."""
    slack_bot_token: str | None = None
    slack_app_token: str | None = None
    slack_signing_secret: str | None = None
    slack_api_url: str = DEFAULT_SLACK_API_URL
    train_schedule: str = DEFAULT_TRAIN_SCHEDULE
    ops_channel: str | None = None
    min_new_ratings: int | None = None
    """ARGOT_MIN_NEW_RATINGS; this and the learning settings below: None = the default of
    engine/learning/config.py or engine/learning/training.py."""
    min_held_out: int | None = None
    gold_queries: Path | None = None
    gate_margin: float | None = None
    cocktail_alphas: tuple[float, ...] | None = None
    train_loss: str | None = None
    train_epochs: float | None = None
    train_min_steps: int | None = None
    train_seconds: float | None = None
    train_batch_size: int | None = None
    train_lr: float | None = None
    train_max_seq_length: int | None = None
    train_max_steps: int | None = None
    train_negatives: int | None = None
    train_frozen_layers: int | None = None
    train_precision: str | None = None
    train_threads: int | None = None
    """ARGOT_TRAIN_THREADS: torch threads of the learning child process (None: 1)."""
    ingest_hosts: tuple[str, ...] = ()
    """Hosts whose pages a person may get ingested by linking them in Slack (a right-page
    reply, the Home tab's answer form); subdomains included. None by default."""

    @property
    def images_enabled(self) -> bool:
        return self.clip_model.lower() != "none" and self.clip_pretrained.lower() != "none"

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'argot.db'}"

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None, dotenv: Path | None = None
             ) -> Settings:
        """The process environment wins over `.env` (default: ./.env if it exists)."""
        from dotenv import dotenv_values

        env: dict[str, str] = {}
        dotenv_path = dotenv or Path(".env")
        if dotenv_path.is_file():
            env.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
        env.update(os.environ if environ is None else environ)
        return cls.from_mapping(env)

    @classmethod
    def from_mapping(cls, env: Mapping[str, str]) -> Settings:
        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        settings = cls(
            home=Path(get("ARGOT_HOME") or ".argot").expanduser().resolve(),
            model=get("ARGOT_MODEL"),
            clip_model=get("ARGOT_CLIP_MODEL") or "ViT-B-32",
            clip_pretrained=get("ARGOT_CLIP_PRETRAINED") or "laion2b_s34b_b79k",
            chroma_host=get("CHROMA_HOST"),
            chroma_port=parse_int("CHROMA_PORT", get("CHROMA_PORT"), 8000, 1, 65535),
            database_url=get("DATABASE_URL"),
            retrieval=get("ARGOT_RETRIEVAL") or "hybrid",
            query_encoder=(get("ARGOT_QUERY_ENCODER") or "onnx").lower(),
            slack_bot_token=get("SLACK_BOT_TOKEN"),
            slack_app_token=get("SLACK_APP_TOKEN"),
            slack_signing_secret=get("SLACK_SIGNING_SECRET"),
            slack_api_url=normalise_api_url(get("SLACK_API_URL")),
            train_schedule=get("ARGOT_TRAIN_SCHEDULE") or DEFAULT_TRAIN_SCHEDULE,
            ops_channel=get("ARGOT_OPS_CHANNEL"),
            gold_queries=parse_path("ARGOT_GOLD_QUERIES", get("ARGOT_GOLD_QUERIES")),
            **learning_settings(get),
            ingest_hosts=parse_hosts("ARGOT_INGEST_HOSTS", get("ARGOT_INGEST_HOSTS")),
        )
        settings.check()
        return settings

    def check(self) -> None:
        if self.retrieval not in RETRIEVAL_MODES:
            raise SettingsError(f"ARGOT_RETRIEVAL={self.retrieval!r} is not one of "
                                f"{', '.join(RETRIEVAL_MODES)}")
        if self.query_encoder not in QUERY_ENCODERS:
            raise SettingsError(f"ARGOT_QUERY_ENCODER={self.query_encoder!r} is not one of "
                                f"{', '.join(QUERY_ENCODERS)}")
        if self.database_url:
            from sqlalchemy.engine import make_url
            from sqlalchemy.exc import ArgumentError

            try:
                make_url(self.database_url).get_dialect()  # an unknown database is a wrong setting too
            except ArgumentError as exc:
                raise SettingsError(f"DATABASE_URL is not a SQLAlchemy URL: {exc}") from exc
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(self.train_schedule)
        except ValueError as exc:
            raise SettingsError(f"ARGOT_TRAIN_SCHEDULE={self.train_schedule!r} is not a cron "
                                f"expression like '0 3 * * *': {exc}") from exc
        if self.slack_bot_token and not self.slack_bot_token.startswith("xoxb-"):
            raise SettingsError("SLACK_BOT_TOKEN must be a bot token starting with xoxb-")
        if self.slack_app_token and not self.slack_app_token.startswith("xapp-"):
            raise SettingsError("SLACK_APP_TOKEN must be an app-level token starting with xapp-")

    def require_slack(self, *, http: bool) -> None:
        """The bot needs a bot token, plus an app token (Socket Mode) or a signing secret."""
        if not self.slack_bot_token:
            raise SettingsError("SLACK_BOT_TOKEN is not set: copy the Bot User OAuth Token "
                                "(xoxb-...) from your Slack app's OAuth & Permissions page")
        if http and not self.slack_signing_secret:
            raise SettingsError("SLACK_SIGNING_SECRET is not set: HTTP mode needs it to check "
                                "that requests come from Slack")
        if not http and not self.slack_app_token:
            raise SettingsError("SLACK_APP_TOKEN is not set: Socket Mode needs an app-level "
                                "token (xapp-...), or run `argot serve --http`")


def parse_int(name: str, raw: str | None, default: int, low: int, high: int) -> int:
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number") from None
    if not low <= value <= high:
        raise SettingsError(f"{name}={value} is out of range {low}..{high}")
    return value


def parse_float(name: str, raw: str | None, default: float, low: float, high: float) -> float:
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number") from None
    if not low <= value <= high:
        raise SettingsError(f"{name}={value} is out of range {low}..{high}")
    return value


def parse_hosts(name: str, raw: str | None) -> tuple[str, ...]:
    """Comma-separated host names (`wiki.example.com, docs.example.com`), lower-cased."""
    if raw is None:
        return ()
    hosts = tuple(dict.fromkeys(h.strip().lower().strip(".") for h in raw.split(",") if h.strip()))
    bad = [h for h in hosts if "/" in h or ":" in h or " " in h]
    if bad:
        raise SettingsError(f"{name}: {bad[0]!r} is not a host name; list hosts only, "
                            "e.g. wiki.example.com,docs.example.com")
    return hosts


def learning_settings(get: Callable[[str], str | None]) -> dict[str, Any]:
    """The learning cycle's settings, each checked against its range (unset: None)."""
    from engine.learning.training import LOSSES, PRECISIONS

    def whole(name: str, low: int, high: int) -> int | None:
        raw = get(name)
        return None if raw is None else parse_int(name, raw, 0, low, high)

    def number(name: str, low: float, high: float) -> float | None:
        raw = get(name)
        return None if raw is None else parse_float(name, raw, 0.0, low, high)

    return {
        "min_new_ratings": whole("ARGOT_MIN_NEW_RATINGS", 0, 10**9),
        "min_held_out": whole("ARGOT_MIN_HELD_OUT", 1, 10**6),
        "gate_margin": number("ARGOT_GATE_MARGIN", -1.0, 1.0),
        "cocktail_alphas": parse_alphas("ARGOT_COCKTAIL_ALPHAS", get("ARGOT_COCKTAIL_ALPHAS")),
        "train_loss": parse_choice("ARGOT_TRAIN_LOSS", get("ARGOT_TRAIN_LOSS"), LOSSES),
        "train_epochs": number("ARGOT_TRAIN_EPOCHS", 0.01, 1000.0),
        "train_min_steps": whole("ARGOT_TRAIN_MIN_STEPS", 0, 10**7),
        "train_seconds": number("ARGOT_TRAIN_SECONDS", 0.0, 7 * 86400.0),
        "train_batch_size": whole("ARGOT_TRAIN_BATCH_SIZE", 1, 4096),
        "train_lr": number("ARGOT_TRAIN_LR", 1e-9, 1.0),
        "train_max_seq_length": whole("ARGOT_TRAIN_MAX_SEQ_LENGTH", 8, 8192),
        "train_max_steps": whole("ARGOT_TRAIN_MAX_STEPS", -1, 10**9),
        "train_negatives": whole("ARGOT_TRAIN_NEGATIVES", 1, 64),
        "train_frozen_layers": whole("ARGOT_TRAIN_FROZEN_LAYERS", 0, 1000),
        "train_precision": parse_choice("ARGOT_TRAIN_PRECISION", get("ARGOT_TRAIN_PRECISION"),
                                        PRECISIONS),
        "train_threads": whole("ARGOT_TRAIN_THREADS", 1, 1024),
    }


def parse_alphas(name: str, raw: str | None) -> tuple[float, ...] | None:
    """Blend weights like `1,0.75,0.5`, each between 0 and 1."""
    if raw is None:
        return None
    try:
        alphas = tuple(float(part) for part in raw.split(","))
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a list of numbers like 1,0.75,0.5") from None
    if not all(0.0 <= alpha <= 1.0 for alpha in alphas):
        raise SettingsError(f"{name}={raw!r}: every weight must be between 0 and 1")
    return alphas


def parse_choice(name: str, raw: str | None, choices: tuple[str, ...]) -> str | None:
    if raw is None:
        return None
    chosen = raw.lower()
    if chosen not in choices:
        raise SettingsError(f"{name}={raw!r} is not one of {', '.join(choices)}")
    return chosen


def parse_path(name: str, raw: str | None) -> Path | None:
    """A file that must exist (the gold questions for the learning gate)."""
    if raw is None:
        return None
    path = Path(raw).expanduser().resolve()
    if not path.is_file():
        raise SettingsError(f"{name}={raw!r}: no such file")
    return path


def normalise_api_url(raw: str | None) -> str:
    if raw is None:
        return DEFAULT_SLACK_API_URL
    if not raw.startswith(("http://", "https://")):
        raise SettingsError(f"SLACK_API_URL={raw!r} must start with http:// or https://")
    return raw if raw.endswith("/") else raw + "/"
