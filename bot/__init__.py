"""Argot's edge: settings, the services built once, the Bolt app and the CLI."""
