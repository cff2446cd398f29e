"""Scheduled work: the learning cycle on a cron schedule (thin wrappers over engine verbs)."""
