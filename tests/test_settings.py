"""A missing or wrong setting stops start-up with one line naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError


def test_defaults_put_everything_under_argot_home(tmp_path: Path) -> None:
    settings = Settings.from_mapping({"ARGOT_HOME": str(tmp_path)})
    assert settings.home == tmp_path and settings.db_url == f"sqlite:///{tmp_path / 'argot.db'}"
    assert settings.slack_api_url == "https://slack.com/api/" and settings.images_enabled


def test_dotenv_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("ARGOT_OPS_CHANNEL=C-ops\nCHROMA_PORT=9000\n")
    settings = Settings.load({"CHROMA_PORT": "9100"}, dotenv=env_file)
    assert (settings.ops_channel, settings.chroma_port) == ("C-ops", 9100)


@pytest.mark.parametrize("env, named", [
    ({"CHROMA_PORT": "http"}, "CHROMA_PORT"),
    ({"ARGOT_TRAIN_SCHEDULE": "every night"}, "ARGOT_TRAIN_SCHEDULE"),
    ({"SLACK_BOT_TOKEN": "xoxp-user"}, "SLACK_BOT_TOKEN"),
    ({"SLACK_APP_TOKEN": "xoxb-wrong"}, "SLACK_APP_TOKEN"),
    ({"SLACK_API_URL": "slack.local"}, "SLACK_API_URL"),
    ({"DATABASE_URL": "not a url"}, "DATABASE_URL"),
    ({"DATABASE_URL": "nonsense://db.example/argot"}, "DATABASE_URL"),
    ({"ARGOT_RETRIEVAL": "magic"}, "ARGOT_RETRIEVAL"),
    ({"ARGOT_GATE_MARGIN": "2"}, "ARGOT_GATE_MARGIN"),
    ({"ARGOT_MIN_HELD_OUT": "0"}, "ARGOT_MIN_HELD_OUT"),
    ({"ARGOT_MIN_NEW_RATINGS": "ten"}, "ARGOT_MIN_NEW_RATINGS"),
    ({"ARGOT_COCKTAIL_ALPHAS": "1,half"}, "ARGOT_COCKTAIL_ALPHAS"),
    ({"ARGOT_COCKTAIL_ALPHAS": "1,1.5"}, "ARGOT_COCKTAIL_ALPHAS"),
    ({"ARGOT_TRAIN_LOSS": "hinge"}, "ARGOT_TRAIN_LOSS"),
    ({"ARGOT_TRAIN_BATCH_SIZE": "0"}, "ARGOT_TRAIN_BATCH_SIZE"),
    ({"ARGOT_TRAIN_LR": "fast"}, "ARGOT_TRAIN_LR"),
    ({"ARGOT_TRAIN_THREADS": "-2"}, "ARGOT_TRAIN_THREADS"),
])
def test_a_wrong_setting_is_named(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named) as caught:
        Settings.from_mapping(env)
    assert "\n" not in str(caught.value)


def test_the_bot_needs_its_tokens() -> None:
    settings = Settings.from_mapping({})
    with pytest.raises(SettingsError, match="SLACK_BOT_TOKEN"):
        settings.require_slack(http=True)
    with_bot = Settings.from_mapping({"SLACK_BOT_TOKEN": "xoxb-1"})
    with pytest.raises(SettingsError, match="SLACK_SIGNING_SECRET"):
        with_bot.require_slack(http=True)
    with pytest.raises(SettingsError, match="SLACK_APP_TOKEN"):
        with_bot.require_slack(http=False)


def test_clip_none_turns_image_search_off() -> None:
    assert not Settings.from_mapping({"ARGOT_CLIP_MODEL": "none"}).images_enabled


def test_the_learning_cycle_is_configured_from_the_same_settings(tmp_path: Path) -> None:
    from bot.services import Services
    from engine.learning.config import LearningConfig

    settings = Settings.from_mapping({"ARGOT_HOME": str(tmp_path), "ARGOT_GATE_MARGIN": "-0.5",
                                      "ARGOT_MIN_HELD_OUT": "3", "ARGOT_COCKTAIL_ALPHAS": "1,0.5",
                                      "ARGOT_TRAIN_LOSS": "Triplet", "ARGOT_TRAIN_MAX_STEPS": "2",
                                      "ARGOT_TRAIN_THREADS": "4"})
    config = Services(settings).learning_config()
    assert (config.gate_margin, config.min_held_out, config.alphas) == (-0.5, 3, (1.0, 0.5))
    assert (config.training.loss, config.training.max_steps) == ("triplet", 2)
    assert settings.train_threads == 4
    unset = Services(Settings.from_mapping({"ARGOT_HOME": str(tmp_path)})).learning_config()
    assert unset == LearningConfig()  # nothing set: the engine's own defaults
