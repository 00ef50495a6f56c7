"""(being written)"""

from conversations.router import Router


def setup(router: Router) -> None:
    """Adds this feature's commands, buttons and steps to the router."""
