"""Members: the customer's profile, keyed by Telegram user id.

Plain async functions over a session. They validate what the customer typed and raise a
`ProfileError` subclass (whose `code` the caller turns into a localized message) when an
answer cannot be taken; nothing is changed then. They flush, never commit.

Consent comes first: `refuse_consent` stores a row with only the refusal (plus the columns a
row needs: Telegram ids, the language to answer in, timestamps), `give_consent` creates or
re-opens the member; every other setter requires consent.
"""

from __future__ import annotations

import re
from datetime import datetime

import phonenumbers
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.catalogue import ISO_COUNTRIES
from storage.models import Member

NAME_MAX = 100
EMAIL_MAX = 254
PROFILE_FIELDS = ("email", "first_name", "last_name", "country")  # required; phone is optional

_EMAIL = re.compile(
    r"^(?P<local>[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)"
    r"@(?P<domain>(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63})$"
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


class ProfileError(Exception):
    """An answer that cannot be taken; `code` names why (e.g. `email_invalid`)."""

    code = "invalid"

    def __init__(self, message: str = "", **details: object) -> None:
        super().__init__(message or self.code)
        self.details = details


class InvalidEmail(ProfileError):
    code = "email_invalid"


class EmailTaken(ProfileError):
    """Another member uses the address, and neither of the two may share it."""

    code = "email_taken"


class InvalidName(ProfileError):
    code = "name_invalid"  # details: reason = "empty" | "too_long", max


class UnknownCountry(ProfileError):
    code = "country_unknown"


class InvalidPhone(ProfileError):
    code = "phone_invalid"


class ConsentRequired(ProfileError):
    """No member, or one without consent: nothing may be stored for them."""

    code = "consent_required"


class IncompleteProfile(ProfileError):
    code = "profile_incomplete"  # details: missing = [field, …]


# ---- reading ---------------------------------------------------------------------------------
async def by_telegram_id(session: AsyncSession, telegram_user_id: int) -> Member | None:
    member: Member | None = await session.scalar(select(Member).where(Member.telegram_user_id == telegram_user_id))
    return member


async def saved_language(session: AsyncSession, telegram_user_id: int) -> str | None:
    """The language the member chose, if they are a member."""
    language: str | None = await session.scalar(
        select(Member.language).where(Member.telegram_user_id == telegram_user_id)
    )
    return language


def has_consent(member: Member | None) -> bool:
    return member is not None and member.consent_at is not None and member.deleted_at is None


def is_complete(member: Member | None) -> bool:
    """Consent given, required fields filled and the journey finished once."""
    return (
        has_consent(member)
        and member is not None
        and member.profile_completed_at is not None
        and not missing_fields(member)
    )


def missing_fields(member: Member) -> list[str]:
    """Required fields still empty, in the order the profile journey asks them."""
    return [name for name in PROFILE_FIELDS if not getattr(member, name)]


async def has_profile(session: AsyncSession, telegram_user_id: int) -> bool:
    """True when the user has a completed profile (what every other journey needs)."""
    return is_complete(await by_telegram_id(session, telegram_user_id))


# ---- consent ---------------------------------------------------------------------------------
async def give_consent(
    session: AsyncSession,
    *,
    telegram_user_id: int,
    chat_id: int,
    language: str,
    now: datetime,
    username: str | None = None,
) -> Member:
    """Creates the member (or re-opens one who refused before) with the consent time."""
    member = await by_telegram_id(session, telegram_user_id)
    if member is None:
        member = Member(
            telegram_user_id=telegram_user_id, chat_id=chat_id, language=language, created_at=now, updated_at=now
        )
        session.add(member)
    if member.consent_at is None or member.deleted_at is not None:
        member.consent_at = now
    member.consent_refused_at = None
    member.deleted_at = None
    member.chat_id, member.username, member.language, member.updated_at = chat_id, username, language, now
    await session.flush()
    return member


async def refuse_consent(
    session: AsyncSession, *, telegram_user_id: int, chat_id: int, language: str, now: datetime
) -> Member:
    """Records only the refusal. A member who had started a profile (never finished) loses what
    was stored of it; a completed profile is left alone (deleting it is the data-deletion journey)."""
    member = await by_telegram_id(session, telegram_user_id)
    if member is None:
        member = Member(
            telegram_user_id=telegram_user_id, chat_id=chat_id, language=language, created_at=now, updated_at=now
        )
        session.add(member)
    elif member.profile_completed_at is not None and member.deleted_at is None:
        raise ProfileError("a completed profile is deleted, not refused")
    member.consent_at = None
    member.consent_refused_at = now
    member.username = member.email = member.first_name = member.last_name = member.country = member.phone = None
    member.newsletter = member.email_copies = False
    member.email_verified_at = member.email_undeliverable_at = None
    member.profile_completed_at = None
    member.chat_id, member.language, member.updated_at = chat_id, language, now
    await session.flush()
    return member


async def _consenting(session: AsyncSession, telegram_user_id: int) -> Member:
    member = await by_telegram_id(session, telegram_user_id)
    if member is None or not has_consent(member):
        raise ConsentRequired()
    return member


# ---- e-mail ----------------------------------------------------------------------------------
def normalize_email(text: str) -> str:
    """The address in the form it is stored and compared: trimmed, lower-case."""
    email = (text or "").strip()
    if email.lower().startswith("mailto:"):
        email = email[7:]
    match = _EMAIL.match(email)
    if match is None or len(email) > EMAIL_MAX or len(match["local"]) > 64:
        raise InvalidEmail()
    return email.lower()


async def email_in_use_by_other(session: AsyncSession, email: str, telegram_user_id: int) -> bool:
    """True when another (not deleted) member uses `email` and sharing is not allowed: neither
    that member nor the one asking has `email_shared_allowed` (set by staff for a household)."""
    email = email.strip().lower()
    me = await by_telegram_id(session, telegram_user_id)
    if me is not None and me.email_shared_allowed:
        return False
    others = select(Member.id).where(
        func.lower(Member.email) == email,
        Member.telegram_user_id != telegram_user_id,
        Member.deleted_at.is_(None),
        Member.email_shared_allowed.is_(False),
    )
    return await session.scalar(others.limit(1)) is not None


async def set_email(session: AsyncSession, telegram_user_id: int, text: str, *, now: datetime) -> Member:
    """Validates and stores the e-mail; raises InvalidEmail or EmailTaken (nothing changed)."""
    email = normalize_email(text)
    member = await _consenting(session, telegram_user_id)
    if await email_in_use_by_other(session, email, telegram_user_id):
        raise EmailTaken(email=email)
    if member.email != email:  # a new address is unproven until its code is typed
        member.email_verified_at = member.email_undeliverable_at = None
    member.email, member.updated_at = email, now
    await session.flush()
    return member


async def set_email_copies(session: AsyncSession, telegram_user_id: int, wanted: bool, *, now: datetime) -> Member:
    """The opt-in e-mailed copy of each decision (sent only to a verified address)."""
    member = await _consenting(session, telegram_user_id)
    member.email_copies, member.updated_at = wanted, now
    await session.flush()
    return member


# ---- names, country, phone, newsletter -----------------------------------------------------
def clean_name(text: str | None) -> str:
    """One line, single spaces, no control characters, 1..NAME_MAX characters."""
    name = " ".join(_CONTROL.sub(" ", text or "").split())
    if not name:
        raise InvalidName(reason="empty", max=NAME_MAX)
    if len(name) > NAME_MAX:
        raise InvalidName(reason="too_long", max=NAME_MAX)
    return name


async def set_names(
    session: AsyncSession,
    telegram_user_id: int,
    *,
    first_name: str | None = None,
    last_name: str | None = None,
    now: datetime,
) -> Member:
    """Stores whichever of the two names is given; raises InvalidName (nothing changed)."""
    first = clean_name(first_name) if first_name is not None else None
    last = clean_name(last_name) if last_name is not None else None
    member = await _consenting(session, telegram_user_id)
    if first is not None:
        member.first_name = first
    if last is not None:
        member.last_name = last
    member.updated_at = now
    await session.flush()
    return member


async def set_country(session: AsyncSession, telegram_user_id: int, code: str, *, now: datetime) -> Member:
    """Stores the region as an ISO 3166-1 alpha-2 code; raises UnknownCountry."""
    code = (code or "").strip().upper()
    if code not in ISO_COUNTRIES:
        raise UnknownCountry(code=code)
    member = await _consenting(session, telegram_user_id)
    member.country, member.updated_at = code, now
    await session.flush()
    return member


def normalize_phone(text: str, region: str | None = None) -> str:
    """An international number in E.164 (`+6591234567`). A number without `+` is read as a
    national number of `region` (the member's country) when one is known; raises InvalidPhone."""
    raw = (text or "").strip()
    if not raw or len(raw) > 40:
        raise InvalidPhone()
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    try:
        number = phonenumbers.parse(raw, None if raw.startswith("+") else (region or None))
    except phonenumbers.NumberParseException:
        raise InvalidPhone() from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone()
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def shared_contact_phone(phone_number: str) -> str:
    """Telegram's shared contact gives the number with or without `+`, always international."""
    digits = phone_number.strip()
    return normalize_phone(digits if digits.startswith("+") else f"+{digits}")


def format_phone(e164: str) -> str:
    """For display: `+65 9123 4567`."""
    try:
        return phonenumbers.format_number(phonenumbers.parse(e164, None), phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        return e164


async def set_phone(
    session: AsyncSession, telegram_user_id: int, phone: str | None, *, now: datetime, shared: bool = False
) -> Member:
    """Stores the number (None removes it: the phone is optional); raises InvalidPhone.
    `shared=True` for a number from Telegram's share-contact button."""
    member = await _consenting(session, telegram_user_id)
    if phone is None:
        member.phone = None
    else:
        member.phone = shared_contact_phone(phone) if shared else normalize_phone(phone, member.country)
    member.updated_at = now
    await session.flush()
    return member


async def set_newsletter(session: AsyncSession, telegram_user_id: int, subscribe: bool, *, now: datetime) -> Member:
    member = await _consenting(session, telegram_user_id)
    member.newsletter, member.updated_at = subscribe, now
    await session.flush()
    return member


async def complete_profile(session: AsyncSession, telegram_user_id: int, *, now: datetime) -> Member:
    """Marks the profile complete (first time only); raises IncompleteProfile with `missing`."""
    member = await _consenting(session, telegram_user_id)
    missing = missing_fields(member)
    if missing:
        raise IncompleteProfile(missing=missing)
    if member.profile_completed_at is None:
        member.profile_completed_at = now
    member.updated_at = now
    await session.flush()
    return member


async def set_language(session: AsyncSession, telegram_user_id: int, language: str, *, now: datetime) -> Member | None:
    """Saves the language of a member (whether or not they consented: a refusal row answers in
    it too). Returns None when there is no member row: nothing is created for a language."""
    member = await by_telegram_id(session, telegram_user_id)
    if member is None:
        return None
    member.language, member.updated_at = language, now
    await session.flush()
    return member


def mark_reachable(member: Member) -> None:
    """The customer wrote to us, so the bot is not blocked (any more): a later block is news again."""
    if member.bot_blocked_at is not None:
        member.bot_blocked_at = None
