"""Test data: members with a finished profile, and images made on the fly."""

from __future__ import annotations

import io
import re
import socket
from datetime import UTC, datetime
from typing import Any

from PIL import Image, ImageDraw

from storage.db import SessionFactory, unit_of_work
from storage.models import Member
from tests.conftest import BotHarness
from tests.harness import Person


def invoice_jpeg(width: int = 1200, height: int = 900, text: str = "INVOICE INV-2026-0042 PRO MP241") -> bytes:
    image = Image.new("RGB", (width, height), "white")
    ImageDraw.Draw(image).text((40, 40), text, fill="black")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG")
    return buffer.getvalue()


def new_member(
    user_id: int,
    *,
    email: str | None = None,
    country: str | None = "SG",
    language: str = "en",
    username: str | None = None,
    now: datetime | None = None,
) -> Member:
    """A member who already agreed to the privacy policy and completed the profile (not yet added)."""
    moment = now or datetime(2026, 3, 1, tzinfo=UTC)
    return Member(
        telegram_user_id=user_id,
        chat_id=user_id,
        username=username,
        language=language,
        consent_at=moment,
        email=email or f"user{user_id}@example.com",
        first_name="Test",
        last_name=f"User{user_id}",
        country=country,
        newsletter=False,
        profile_completed_at=moment,
        email_verified_at=moment,  # a member who typed the code back when they set up the profile
        created_at=moment,
        updated_at=moment,
    )


async def make_member(sessions: SessionFactory, user_id: int, **fields: Any) -> int:
    """A member with a finished profile, stored; returns its id."""
    async with unit_of_work(sessions) as session:
        member = new_member(user_id, **fields)
        session.add(member)
        await session.flush()
        return member.id


async def customer(bot: BotHarness, user_id: int, name: str, language_code: str = "en", **member: object):  # type: ignore[no-untyped-def]
    """A person with a complete profile, ready to register products."""
    await make_member(bot.sessions, user_id, **member)  # type: ignore[arg-type]
    return bot.person(user_id, name, language_code)


async def add_product(
    bot: BotHarness,
    member_id: int,
    serial: str,
    *,
    purchase: str = "2026-03-03",
    country: str = "SG",
    with_invoice: bool = True,
) -> int:
    """A registered product with a stored invoice, as if the registration journey had run."""
    from datetime import UTC, date, datetime

    from sqlalchemy import select

    from storage.models import CatalogueProduct, CatalogueSerial, RegisteredProduct

    services = bot.runtime.services
    assert services is not None
    stored = services.media.save(invoice_jpeg(text=f"INVOICE {serial}")) if with_invoice else None
    async with unit_of_work(bot.sessions) as session:
        catalogue_id = await session.scalar(select(CatalogueSerial.product_id).where(CatalogueSerial.serial == serial))
        assert catalogue_id is not None and await session.get(CatalogueProduct, catalogue_id) is not None
        product = RegisteredProduct(
            member_id=member_id,
            catalogue_product_id=catalogue_id,
            serial=serial,
            purchase_country=country,
            store_name="Courts",
            purchase_date=date.fromisoformat(purchase),
            channel="retail",
            invoice_path=stored.relative_path if stored else None,
            invoice_sha256=stored.sha256 if stored else None,
            registered_at=datetime(2026, 3, 5, tzinfo=UTC),
        )
        session.add(product)
        await session.flush()
        return product.id


async def set_promotion(bot: BotHarness, slug: str = "spring-2026", **changes: object) -> None:
    """Changes fields of a loaded promotion (limit, lucky draw, prize kind…)."""
    from sqlalchemy import select

    from storage.models import Promotion

    async with unit_of_work(bot.sessions) as session:
        promotion = await session.scalar(select(Promotion).where(Promotion.slug == slug))
        assert promotion is not None
        for key, value in changes.items():
            setattr(promotion, key, value)


def distinct_photo(seed: str, size: tuple[int, int] = (900, 700)) -> bytes:
    """A photo no other seed's photo resembles (random blocks), for S/N photos in tests that
    must not trip the near-duplicate check by accident."""
    import random

    rng = random.Random(seed)
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        x, y = rng.randrange(size[0] - 40), rng.randrange(size[1] - 40)
        draw.rectangle(
            (x, y, x + rng.randrange(20, 220), y + rng.randrange(20, 220)),
            fill=tuple(rng.randrange(256) for _ in range(3)),
        )
    draw.text((20, 20), seed, fill="black")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def free_port() -> int:
    """A loopback port nobody listens on, for a webhook server the test starts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def start_and_agree(person: Person) -> None:
    """A new customer's /start and consent, up to the e-mail question."""
    await person.send("/start")
    await person.expect("Welcome, ")
    await person.expect("Privacy policy")
    await person.press("✅ I agree")
    await person.expect("Your e-mail address")


async def read_code(person: Person, address: str, after: int = 0) -> str:
    """The 6-digit code in the next mail to `address` (after mail number `after`), as the person
    reads it in their mailbox (the emulator's SMTP server)."""
    mail = await person.emulator.mailbox.wait_for(address, after=after)
    found = re.search(r"\b(\d{6})\b", mail.text)
    assert found is not None, f"no code in the mail:\n{mail.text}"
    return found.group(1)


async def confirm_email(person: Person, address: str, next_question: str = "first name") -> None:
    """Types `address` at the e-mail question, reads the code from the mail and types it."""
    after = person.emulator.mailbox.last_seq
    await person.send(address)
    shown = address.strip().lower()
    await person.expect(shown, "6")  # "I sent a 6-digit code to …" in the person's language
    await person.send(await read_code(person, shown, after))
    await person.expect(shown, "✅")  # "… is confirmed"
    await person.expect(next_question)


async def to_first_name(person: Person) -> None:
    """A new customer's first steps: /start, consent, e-mail and its code, up to the first-name question."""
    await start_and_agree(person)
    await confirm_email(person, "alice@example.com")
