"""How handlers reach the engine: the services travel in Bolt's `context`.

`provide_services(services)` is the app's middleware; callbacks call
`services_in(context)`. Tests build an app with a `Services` over a fake embedder, or
call a callback directly with `{"argot": Shared(fake)}` as its context.

Bolt hands each lazy listener a deep copy of the context. The services (a Chroma
client, a database pool, a loaded model) must be shared, never copied, so they ride
in a `Shared` box whose deep copy is itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.services import Services

KEY = "argot"


class Shared:
    """A context value that lazy listeners share instead of deep-copying."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __deepcopy__(self, memo: dict[int, Any]) -> Shared:
        return self


def provide_services(services: Services) -> Callable[..., Any]:
    """Bolt middleware: put the services into every request's context."""
    shared = Shared(services)

    def inject_services(context: dict[str, Any], next: Callable[[], Any]) -> Any:  # noqa: A002
        context[KEY] = shared
        return next()

    return inject_services


def services_in(context: dict[str, Any]) -> Services:
    try:
        return context[KEY].value
    except KeyError:
        raise RuntimeError("No services in the Bolt context; build the app with "
                           "bot.app.build_app, which installs provide_services") from None
