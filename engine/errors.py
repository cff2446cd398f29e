"""Errors a user can act on. Each message says what went wrong and what to do next."""


class ArgotError(Exception):
    """A failure with a message meant for the person at the keyboard or in Slack."""


class IngestError(ArgotError):
    """A source could not be read or parsed; nothing from it was indexed."""


class QueryError(ArgotError):
    """A question that cannot be answered as asked (empty, say)."""


class IndexUnavailable(ArgotError):
    """The vector store (embedded or a Chroma server) cannot be reached."""


class EmbedderError(ArgotError):
    """An embedding model could not be loaded or an endpoint did not answer."""
