"""Photo retention: the daily job that deletes the photos of long-decided claims.

`PHOTO_RETENTION_DAYS` (default 365; 0 keeps every photo) says how long after a claim was
approved or finally rejected its S/N photos, and the invoices of products whose every claim is
such, are kept. What exactly goes and what never does is `storage.privacy.expire_photos`.
Each batch is one transaction with its audit entry; the runtime runs this once a day and on
every `tick()`.
"""

from __future__ import annotations

import logging

from bot.services import Services
from storage import privacy
from storage.db import unit_of_work

log = logging.getLogger(__name__)
BATCH = 500
MAX_BATCHES = 200  # a first run over a large backlog stops here and goes on the next day


async def run_retention(services: Services) -> int:
    """Deletes what is due now; returns how many photo references were cleared."""
    days = services.settings.photo_retention_days
    if days <= 0:
        return 0
    cleared = files = 0
    for _ in range(MAX_BATCHES):
        async with unit_of_work(services.sessions) as session:
            result = await privacy.expire_photos(session, now=services.clock.now(), days=days, files=services.media, limit=BATCH)
        cleared += result.rows
        files += len(result.files_deleted)
        if result.sn_photos < BATCH and result.invoices < BATCH:
            break
    if cleared:
        log.info("retention: %d photo reference(s) cleared, %d file(s) deleted (older than %d days)", cleared, files, days)
    return cleared
