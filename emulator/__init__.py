"""A local emulator of the Telegram Bot API server (aiohttp), with scripted users and a chat page.

Standalone on purpose: it imports nothing from the bot, so it can test any Bot API client.
"""

from .emulator import Emulator
from .errors import ApiError
from .models import Event

__all__ = ["ApiError", "Emulator", "Event"]
