"""Keeping indexed channels current: an hourly job that reads what is new in each.

Every channel that `argot ingest slack://C…` or `/argot index` added is read again
(incrementally: only messages newer than its last finished run; a run that died midway
resumes). One process at a time does it across the deployment (a database lease), and
a channel the bot was removed from is logged and skipped, never retried in a loop.

Example:
    >>> runs = refresh_channels(services, client)
    >>> [run.summary() for run in runs]
    ['C0123: 2 threads read, 2 added, 0 updated; 5 messages skipped']
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.channelindex import ChannelRun
    from bot.services import Services

log = logging.getLogger(__name__)

REFRESH_JOB_ID = "argot-channel-refresh"
REFRESH_MINUTES = 60
LEASE = "channel-refresh"
LEASE_SECONDS = 3600


def refresh_channels(services: Services, client: Any = None) -> list[ChannelRun]:
    """Read what is new in every indexed channel; the runs that completed."""
    from slack_sdk.errors import SlackApiError

    from bot.channelindex import index_channel
    from engine.conversations import ConversationState
    from engine.leases import Leases, this_process

    channels = ConversationState.of(services.feedback).channels()
    if not channels:
        return []
    client = client or slack_client(services)
    if client is None:
        log.warning("indexed channels not refreshed: SLACK_BOT_TOKEN is not set")
        return []
    leases, holder = Leases(services.feedback), this_process()
    taken, who = leases.acquire(LEASE, holder, LEASE_SECONDS)
    if not taken:
        log.info("channel refresh skipped: %s is already refreshing", who)
        return []
    runs = []
    try:
        bot_user_id = str(client.auth_test().get("user_id") or "")
        for channel in channels:
            try:
                runs.append(index_channel(client, services, channel.channel,
                                          bot_user_id=bot_user_id))
            except SlackApiError as exc:
                log.warning("channel %s not refreshed: Slack answered %s", channel.channel,
                            exc.response.get("error"))
    finally:
        leases.release(LEASE, holder)
    return runs


def slack_client(services: Services) -> Any:
    if not services.settings.slack_bot_token:
        return None
    from bot.slack_client import build_client

    return build_client(services.settings)


def scheduled_refresh(home: str) -> int:
    """The job: refresh the channels of the ARGOT_HOME this process serves."""
    from jobs.scheduler import _contexts

    context = _contexts.get(home)
    if context is None:
        log.warning("channel refresh for %s fired in a process that does not serve it", home)
        return 0
    services, client = context
    try:
        return len(refresh_channels(services, client))
    except Exception:  # noqa: BLE001 - the scheduler would only log it less clearly
        log.exception("channel refresh failed")
        return 0


def ensure_surface_jobs(scheduler: Any, services: Services) -> None:
    """Add the channel refresh (hourly) and the weekly knowledge-gap digest, once."""
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    from jobs.digest import DIGEST_JOB_ID, DIGEST_SCHEDULE, scheduled_digest

    key = str(services.settings.home)
    if scheduler.get_job(REFRESH_JOB_ID) is None:
        scheduler.add_job(scheduled_refresh, IntervalTrigger(minutes=REFRESH_MINUTES), args=[key],
                          id=REFRESH_JOB_ID, name="indexed channels refresh",
                          replace_existing=True)
    if scheduler.get_job(DIGEST_JOB_ID) is None:
        scheduler.add_job(scheduled_digest, CronTrigger.from_crontab(DIGEST_SCHEDULE), args=[key],
                          id=DIGEST_JOB_ID, name="knowledge-gap digest", replace_existing=True)
