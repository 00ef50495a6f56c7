"""What every handler may use, built once by the runtime and reached through the context."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings
from locales.i18n import Translator
from storage.clock import Clock
from storage.db import SessionFactory
from storage.media import MediaStore


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    sessions: SessionFactory
    translator: Translator
    clock: Clock
    media: MediaStore
