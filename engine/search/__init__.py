"""Answering a question: the one retrieval stack that serves and that evaluation scores."""
