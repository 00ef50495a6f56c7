"""Photo retention: the daily job that deletes the photos of long-decided claims, and the sweep
of media files nothing refers to.

`PHOTO_RETENTION_DAYS` (default 365; 0 keeps every photo) says how long after a claim was
approved or finally rejected its S/N photos, and the invoices of products whose every claim is
such, are kept. What exactly goes and what never does is `storage.privacy.expire_photos`.
Each batch is one transaction with its audit entry; the runtime runs this once a day and on
every `tick()`.

`remove_orphan_media` removes what a killed process leaves in MEDIA_DIR: half-written `.tmp-*`
files and stored photos whose row was never committed. It judges by age, not by when it runs:
only files last modified more than `ORPHAN_MIN_AGE` ago are candidates, because another process
on the same MEDIA_DIR may be between storing a photo and committing the row that points at it
(MediaStore.save touches a file it reuses for the same reason). So it is safe at start-up with
other processes running, and at any time after.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta

from bot.services import Services
from storage import fulfilment, media_references, privacy
from storage.db import unit_of_work
from storage.media import MediaStore

log = logging.getLogger(__name__)
BATCH = 500
MAX_BATCHES = 200  # a first run over a large backlog stops here and goes on the next day
ORPHAN_MIN_AGE = timedelta(hours=1)  # far longer than any update's unit of work
# A kill orphans a photo or two. Most of the store unreferenced means the database is not the one
# these files belong to (a wrong DATABASE_URL): then no photo is touched, and the log says why.
MAX_ORPHAN_SHARE = 0.5
ORPHAN_SHARE_FLOOR = 20  # below this many orphans the share is not looked at


async def run_retention(services: Services) -> int:
    """Deletes what is due now; returns how many photo references were cleared."""
    await expire_payouts(services)
    days = services.settings.photo_retention_days
    if days <= 0:
        return 0
    cleared = files = 0
    for _ in range(MAX_BATCHES):
        async with unit_of_work(services.sessions) as session:
            result = await privacy.expire_photos(
                session, now=services.clock.now(), days=days, files=services.media, limit=BATCH
            )
        cleared += result.rows
        files += len(result.files_deleted)
        if result.sn_photos < BATCH and result.invoices < BATCH:
            break
    if cleared:
        log.info(
            "retention: %d photo reference(s) cleared, %d file(s) deleted (older than %d days)", cleared, files, days
        )
    return cleared


async def expire_payouts(services: Services) -> int:
    """Payout details of cashback paid more than PAYOUT_RETENTION_DAYS ago are erased."""
    async with unit_of_work(services.sessions) as session:
        erased = await fulfilment.expire_payouts(session, services.clock.now(), services.settings.payout_retention_days)
    if erased:
        log.info("retention: payout details of %d paid claim(s) erased", len(erased))
    return len(erased)


async def remove_orphan_media(services: Services, *, min_age: timedelta = ORPHAN_MIN_AGE) -> int:
    """Deletes temp files and stored photos no row mentions, older than `min_age`; returns how
    many files went. The files are listed before the database is read, so a row committed
    meanwhile is seen; each file's age is checked again right before it goes."""
    media = services.media
    cutoff = time.time() - min_age.total_seconds()  # file times are the wall clock's, whatever services.clock says
    found = await asyncio.to_thread(media.leftovers, cutoff)
    async with unit_of_work(services.sessions) as session:
        referenced = await media_references.referenced_paths(session)
    orphans = [path for path in found.photos if path not in referenced]
    if len(orphans) > ORPHAN_SHARE_FLOOR and len(orphans) > MAX_ORPHAN_SHARE * found.stored:
        log.error(
            "media sweep: %d of %d stored photos are mentioned by no row of this database; "
            "is DATABASE_URL the one MEDIA_DIR belongs to? No photo deleted.",
            len(orphans),
            found.stored,
        )
        orphans = []
    removed = await asyncio.to_thread(_remove_all, media, [*found.temp_files, *orphans], cutoff)
    if removed:
        log.info(
            "media sweep: %d file(s) removed (%d temp file(s) and %d unreferenced photo(s) found older than %s)",
            removed,
            len(found.temp_files),
            len(orphans),
            min_age,
        )
    return removed


def _remove_all(media: MediaStore, paths: list[str], cutoff: float) -> int:
    removed = 0
    for path in paths:
        try:
            removed += media.remove_if_older(path, cutoff)
        except OSError as exc:  # a permission problem must not stop the bot from starting
            log.warning("media sweep: could not remove %s: %s", path, exc)
    return removed
