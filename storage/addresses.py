"""The shipping address of a physical prize: which lines it has, in which order, and what each accepts.

The journey asks one line at a time and the submit refuses an incomplete address, so both read
the schema from here. Values are kept as the customer typed them (spaces collapsed); the phone
is stored in E.164 so the courier can call it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from storage import members

MAX_FIELD = 120
MIN_FIELD = 2


class AddressField(enum.StrEnum):
    """The lines of a shipping address, in the order they are asked."""

    NAME = "name"
    STREET = "street"
    CITY = "city"
    POSTCODE = "postcode"
    COUNTRY = "country"
    PHONE = "phone"


class AddressProblem(enum.StrEnum):
    BAD_TEXT = "text"  # empty or longer than MAX_FIELD
    BAD_PHONE = "phone"  # not a phone number the courier can dial


@dataclass(frozen=True)
class FieldCheck:
    """One typed line: the value to keep, or why it was refused."""

    value: str | None
    problem: AddressProblem | None = None


def missing_field(address: Mapping[str, str] | None) -> AddressField | None:
    """The first line still to be given; None when the address is complete."""
    given = address or {}
    return next((field for field in AddressField if not given.get(field.value)), None)


def is_complete(address: Mapping[str, str] | None) -> bool:
    return missing_field(address) is None


def check_field(field: AddressField, typed: str, home_country: str | None) -> FieldCheck:
    """Cleans one typed line; a national phone number is read as one of the member's country."""
    value = " ".join(typed.split())
    if field is AddressField.PHONE:
        try:
            return FieldCheck(members.normalize_phone(value, home_country))
        except members.InvalidPhone:
            return FieldCheck(None, AddressProblem.BAD_PHONE)
    if not MIN_FIELD <= len(value) <= MAX_FIELD:
        return FieldCheck(None, AddressProblem.BAD_TEXT)
    return FieldCheck(value)
