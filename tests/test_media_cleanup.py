"""The sweep of MEDIA_DIR (bot.retention.remove_orphan_media): what a killed process left behind
goes, whatever a row mentions or a live process may be about to commit stays."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.retention import remove_orphan_media
from bot.services import Services
from locales.i18n import Translator
from storage.clock import FakeClock
from storage.db import create_engine, make_session_factory, unit_of_work
from storage.demo import load_demo_data
from storage.media import Leftovers, MediaStore
from storage.models import (
    AuditEntry,
    CatalogueSerial,
    Claim,
    ClaimItem,
    ConversationState,
    ImageFingerprint,
    OutboxMessage,
    Promotion,
    RegisteredProduct,
)
from tests.factories import distinct_photo, new_member

NOW = datetime(2026, 3, 10, tzinfo=UTC)
HOURS = 3600.0


@pytest.fixture
async def services(db_url: str, tmp_path: Path) -> AsyncIterator[Services]:
    """The bot's services on a fresh database with the demo catalogue, and an empty MEDIA_DIR."""
    settings = Settings(_env_file=None, database_url=db_url, media_dir=tmp_path / "media")  # type: ignore[call-arg]
    engine = create_engine(db_url)
    sessions = make_session_factory(engine)
    async with unit_of_work(sessions) as session:
        await load_demo_data(session)
    yield Services(
        settings=settings,
        engine=engine,
        sessions=sessions,
        translator=Translator(),
        clock=FakeClock(),
        media=MediaStore(settings.media_dir),
    )
    await engine.dispose()


def stored(services: Services, seed: str, *, age_hours: float = 2) -> str:
    """A photo in the store, last modified `age_hours` ago; its relative path."""
    path = services.media.save(distinct_photo(seed)).relative_path
    _age(services.media.path(path), age_hours)
    return path


def _age(path: Path, hours: float) -> None:
    moment = time.time() - hours * HOURS
    os.utime(path, (moment, moment))


def temp_file(services: Services, folder: str, name: str, *, age_hours: float) -> Path:
    """A half-written file as MediaStore.save leaves it when its process dies before the rename."""
    path = services.media.root / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xff\xd8 half a jpeg")
    _age(path, age_hours)
    return path


async def referencing_rows(services: Services, paths: dict[str, str]) -> None:
    """One row of each kind that mentions a stored photo."""
    async with unit_of_work(services.sessions) as s:
        member = new_member(4242)
        s.add(member)
        await s.flush()
        catalogue_id = await s.scalar(
            select(CatalogueSerial.product_id).where(CatalogueSerial.serial == "BA9H040230046")
        )
        promotion_id = await s.scalar(select(Promotion.id))
        assert catalogue_id is not None and promotion_id is not None
        product = RegisteredProduct(
            member_id=member.id,
            catalogue_product_id=catalogue_id,
            serial="BA9H040230046",
            purchase_country="SG",
            store_name="Courts",
            purchase_date=date(2026, 3, 3),
            channel="retail",
            invoice_path=paths["invoice"],
            registered_at=NOW,
        )
        s.add(product)
        await s.flush()
        claim = Claim(
            order_id="R-TEST-0001",
            member_id=member.id,
            promotion_id=promotion_id,
            email="x@example.com",
            idempotency_key="k1",
            submitted_at=NOW,
        )
        claim.items.append(ClaimItem(registered_product_id=product.id, sn_photo_path=paths["sn_photo"]))
        s.add(claim)
        s.add(
            ImageFingerprint(
                sha256="1" * 64,
                phash=7,
                band0=7,
                band1=0,
                band2=0,
                band3=0,
                member_id=member.id,
                kind="invoice",
                path=paths["fingerprint"],
                created_at=NOW,
            )
        )
        s.add(
            ConversationState(
                user_id=4243,
                chat_id=4243,
                flow="redeem",
                step="lucky",
                data={"photos": {"7": [paths["draft"], "sha", None, []]}},
                updated_at=NOW,
            )
        )
        s.add(
            AuditEntry(
                at=NOW,
                actor_user_id=4242,
                action="invoice_replaced",
                subject=f"registered_product:{product.id}",
                details={"old_path": paths["replaced"], "new_path": paths["invoice"]},
            )
        )
        s.add(
            OutboxMessage(
                chat_id=4242,
                kind="text",
                payload={"key": "x", "values": {}, "photo": paths["outbox"]},
                status="pending",
                attempts=0,
                not_before=NOW,
                created_at=NOW,
            )
        )


async def test_only_old_unreferenced_files_and_old_temp_files_go(services: Services) -> None:
    kinds = ("invoice", "sn_photo", "fingerprint", "draft", "replaced", "outbox")
    referenced = {kind: stored(services, kind, age_hours=48) for kind in kinds}
    await referencing_rows(services, referenced)
    orphan = stored(services, "killed before commit")
    fresh_orphan = stored(services, "in flight in another process", age_hours=0.25)
    reused = stored(services, "an orphan uploaded again")
    folder = orphan.rsplit("/", 1)[0]
    old_temp = temp_file(services, folder, ".tmp-dead1234.jpg", age_hours=2)
    fresh_temp = temp_file(services, folder, ".tmp-live5678.jpg", age_hours=0.1)
    not_ours = [
        services.media.root / "README.txt",
        services.media.root / folder / "notes.txt",
        services.media.root / "exports" / "ab" / ("0" * 64 + ".jpg"),
    ]
    for path in not_ours:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("kept")
        _age(path, 48)

    # An in-flight update stores the same photo again: the file is reused, and touched.
    assert services.media.save(distinct_photo("an orphan uploaded again")).relative_path == reused

    assert await remove_orphan_media(services) == 2
    media = services.media
    assert not media.path(orphan).exists() and not old_temp.exists()
    assert all(media.path(path).exists() for path in referenced.values())
    assert media.path(fresh_orphan).exists() and media.path(reused).exists() and fresh_temp.exists()
    assert all(path.exists() for path in not_ours)
    assert (media.root / folder).is_dir()  # folders stay: save may be about to write into one
    assert await remove_orphan_media(services) == 0

    # An hour on, nothing committed a row for them: the orphans go, the referenced photos stay.
    for path in (media.path(fresh_orphan), media.path(reused), fresh_temp):
        _age(path, 2)
    assert await remove_orphan_media(services) == 3
    assert not media.path(fresh_orphan).exists() and not media.path(reused).exists() and not fresh_temp.exists()
    assert all(media.path(path).exists() for path in referenced.values()) and all(path.exists() for path in not_ours)


async def test_a_row_committed_during_the_sweep_keeps_its_file(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The files are listed before the database is read: a row committed in between is seen."""
    orphan_now = stored(services, "committed while the sweep lists files")
    listed = services.media.leftovers

    loop = asyncio.get_running_loop()

    def list_then_commit(cutoff: float) -> Leftovers:
        found = listed(cutoff)
        assert orphan_now in found.photos
        asyncio.run_coroutine_threadsafe(_state_with(services, orphan_now), loop).result()  # runs in a thread
        return found

    monkeypatch.setattr(services.media, "leftovers", list_then_commit)
    assert await remove_orphan_media(services) == 0
    assert services.media.path(orphan_now).exists()


async def _state_with(services: Services, path: str) -> None:
    async with unit_of_work(services.sessions) as s:
        s.add(
            ConversationState(
                user_id=5151,
                chat_id=5151,
                flow="register",
                step="invoice_number",
                data={"invoice_path": path},
                updated_at=NOW,
            )
        )


async def test_a_store_the_database_does_not_know_is_left_alone(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    """Most of the store unreferenced means a wrong DATABASE_URL: no photo is deleted, temp files still are."""
    photos = [stored(services, f"photo {n}") for n in range(25)]
    old_temp = temp_file(services, photos[0].rsplit("/", 1)[0], ".tmp-dead.jpg", age_hours=2)
    with caplog.at_level(logging.ERROR, logger="bot.retention"):
        assert await remove_orphan_media(services) == 1
    assert "25 of 25 stored photos" in caplog.text
    assert all(services.media.path(path).exists() for path in photos) and not old_temp.exists()


async def test_an_empty_or_missing_media_dir(services: Services) -> None:
    assert not services.media.root.exists()
    assert await remove_orphan_media(services) == 0
    services.media.root.mkdir()
    assert await remove_orphan_media(services) == 0
