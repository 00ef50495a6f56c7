"""`python -m bot export claims`: claims with their decisions, as CSV."""

from __future__ import annotations

import argparse
import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli import cmd_export_claims
from bot.config import Settings
from storage.db import SessionFactory, unit_of_work
from storage.demo import load_demo_data
from storage.export import COLUMNS, write_claims_csv
from storage.models import ActivationCode, ClaimStatus, Promotion
from tests.staff_tools_support import claim

DECIDED = datetime(2026, 3, 9, 15, 30, tzinfo=UTC)


async def _claims(session: AsyncSession) -> None:
    await load_demo_data(session)
    approved = await claim(session, 101, "a000000001")
    session.add(
        ActivationCode(
            promotion_id=approved.promotion_id,
            code="AAAAA-BBBBB-CCCCC",
            claim_id=approved.id,
            assigned_at=DECIDED,
            imported_at=DECIDED,
        )
    )
    rejected = await claim(session, 102, "a000000002", status=ClaimStatus.MISSING_INFO, lucky=False)
    rejected.reason, rejected.reason_code, rejected.decided_at, rejected.attempt = (
        "S/N photo shows the box, not the product",
        "sn_package",
        DECIDED,
        2,
    )
    await claim(session, 103, "a000000003", status=ClaimStatus.REVIEW, lucky=None, products=2, country="TW")
    other = Promotion(
        slug="other",
        names={"en": "Other"},
        starts_on=date(2026, 1, 1),
        ends_on=date(2026, 12, 31),
        invoice_from=date(2026, 1, 1),
        invoice_to=date(2026, 12, 31),
        eligible_models=[],
        eligible_countries=["SG"],
        prize_kind="cashback",
    )
    session.add(other)
    await session.flush()
    await claim(session, 104, "b000000001", slug="other")


async def test_rows_hold_every_fact_and_decision(session: AsyncSession) -> None:
    await _claims(session)
    out = io.StringIO()
    assert await write_claims_csv(session, out, "spring-2026") == 3
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert tuple(rows[0]) == COLUMNS
    by_order = {row["order_id"]: row for row in rows}
    assert set(by_order) == {"a000000001", "a000000002", "a000000003"}
    approved = by_order["a000000001"]
    assert (
        approved["status"] == "approved" and approved["code"] == "AAAAA-BBBBB-CCCCC" and approved["lucky_draw"] == "yes"
    )
    assert (
        approved["email"] == "user101@example.com"
        and approved["country"] == "SG"
        and approved["promotion"] == "spring-2026"
    )
    assert (
        approved["models"] == "9S6-3PA2CT-038"
        and approved["products"] == "PRO MP241"
        and approved["serials"].startswith("TST")
    )
    assert (
        approved["decided_by"] == "9001"
        and approved["submitted_at"] == "2026-03-06T10:00:00+00:00"
        and approved["attempts"] == "1"
    )
    fixable = by_order["a000000002"]
    assert (
        fixable["status"],
        fixable["reason"],
        fixable["reason_code"],
        fixable["lucky_draw"],
        fixable["attempts"],
    ) == ("missing_info", "S/N photo shows the box, not the product", "sn_package", "no", "2")
    assert fixable["decided_at"] == "2026-03-09T15:30:00+00:00" and fixable["code"] == ""
    waiting = by_order["a000000003"]
    assert (
        waiting["status"] == "review"
        and waiting["decided_by"] == ""
        and waiting["lucky_draw"] == ""
        and waiting["country"] == "TW"
    )
    assert len(waiting["serials"].split(" | ")) == 2 and waiting["purchase_dates"] == "2026-03-03 | 2026-03-03"

    everything = io.StringIO()
    assert await write_claims_csv(session, everything) == 4
    with pytest.raises(LookupError):
        await write_claims_csv(session, io.StringIO(), "nope")


async def test_cli_writes_a_file_or_stdout(
    sessions: SessionFactory, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with unit_of_work(sessions) as session:
        await _claims(session)
    settings = Settings(_env_file=None, database_url=db_url)  # type: ignore[call-arg]
    target = tmp_path / "claims.csv"
    assert (
        await cmd_export_claims(argparse.Namespace(promotion="other", format="csv", output=str(target)), settings) == 0
    )
    assert "exported 1 claim(s) to" in capsys.readouterr().err
    [row] = list(csv.DictReader(target.open(encoding="utf-8")))
    assert row["order_id"] == "b000000001" and row["promotion"] == "other"

    assert (
        await cmd_export_claims(argparse.Namespace(promotion="spring-2026", format="csv", output=None), settings) == 0
    )
    out, err = capsys.readouterr()
    assert out.splitlines()[0] == ",".join(COLUMNS) and len(out.splitlines()) == 4 and "exported 3 claim(s)" in err
    assert await cmd_export_claims(argparse.Namespace(promotion="nope", format="csv", output=None), settings) == 1
    out, err = capsys.readouterr()
    assert out == "" and "no promotion 'nope'" in err
