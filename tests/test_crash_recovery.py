"""The bot process killed (SIGKILL) and restarted at chosen and random moments, and stopped with
SIGTERM while its outbox drains: nothing is lost, nothing is repeated but the message in flight.

A real `python -m bot run` subprocess polls the emulator; see tests/crash_run.py for the script
and bench/crash.py for the longer run whose numbers are in the README.
"""

from __future__ import annotations

from pathlib import Path

from tests import crash_run
from tests.crash_run import after_reply, before_reply, before_staff_reply, every_nth, mid_album, mid_card, mid_decision


def _assert_nothing_lost(report: crash_run.Report, customers: int, typing_kills: int = 0) -> None:
    assert report.claims == customers, report.lines()  # no journey lost, none doubled
    assert report.cards_missing == 0 and report.decisions_missing == 0, report.lines()
    assert report.outbox_unsettled == 0 and report.claims_not_approved == 0, report.lines()
    assert report.journeys_unfinished == 0 and report.codes_used == customers, report.lines()
    assert report.steps_repeated <= typing_kills, "; ".join(
        report.lines()
    )  # at most one retry per kill while they type
    assert report.duplicates <= report.kills, "; ".join(report.lines())  # at most one duplicate per kill


async def test_kills_at_the_moments_that_matter_lose_nothing(db_url: str, tmp_path: Path) -> None:
    plan = crash_run.Plan(
        typing=[before_reply, after_reply, every_nth(4), before_reply, every_nth(9)],
        draining=[mid_album, every_nth(2), mid_card, mid_album, every_nth(3)],
        deciding=[before_staff_reply, mid_decision, every_nth(3), mid_decision],
    )
    report = await crash_run.run(tmp_path, db_url, customers=5, plan=plan)
    _assert_nothing_lost(report, 5, typing_kills=len(plan.typing))
    assert report.kills == 14, report.lines()


async def test_a_sigterm_while_the_outbox_drains_loses_no_card(db_url: str, tmp_path: Path) -> None:
    report = await crash_run.run(tmp_path, db_url, customers=4, plan=crash_run.Plan(sigterm_during_drain=True))
    _assert_nothing_lost(report, 4)
    assert report.duplicates == 0, report.lines()  # a clean stop finishes what is in flight
