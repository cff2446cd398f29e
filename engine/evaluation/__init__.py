"""Measuring retrieval: metrics, query sets, model comparison and the scoreboard."""
