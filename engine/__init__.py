"""Argot's domain: embedders, index, ingestion, retrieval, feedback, learning. No Slack code."""
