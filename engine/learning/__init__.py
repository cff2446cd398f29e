"""Turning ratings into a better model: training data, mining, fine-tuning, the gate, promotion."""
