"""The e-mail code step of the profile: the code mailed to the address, typed back in the chat.

After the customer gives (or changes) an address, a code is queued for it (storage.email_verification
holds the rules: expiry, lock-out, how many codes) and this step asks for it, with "Send it again"
and "Change the address". The right code verifies the address, then the journey goes on: the next
onboarding question, the profile card when editing, or the command the customer was on the way
to (a redeem, for a member who registered before verification existed: `verify_then`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from conversations.journey import Action, ButtonRows, StaleButton
from conversations.profile_core import S, answers, commands, editing, go_on, keyboard, show_edited
from conversations.turn import Turn
from storage import email_verification as ev
from storage import members
from storage.models import Member


def verification_on(turn: Turn) -> bool:
    return turn.services.settings.verify_email


def _valid_for(turn: Turn) -> timedelta:
    return timedelta(minutes=turn.services.settings.email_code_minutes)


def _when(turn: Turn, moment: datetime | None) -> str:
    """A time the customer can act again, in UTC (the bot does not know their time zone for sure)."""
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment is not None else "—"


async def send_code(turn: Turn, member: Member) -> bool:
    """Queues a code for the member's address; a refusal (lock, limits) is told. True when sent."""
    try:
        await ev.send_code(turn.session, member, now=turn.now, valid_for=_valid_for(turn))
    except ev.CodeNotSent as refused:
        turn.say(f"email.refused.{refused.reason.value}", address=member.email or "", until=_when(turn, refused.until))
        return False
    return True


async def after_address(turn: Turn, member: Member, next_step: S | None) -> None:
    """An address was saved: a new (or still unproven) one gets a code and the code step."""
    if not verification_on(turn) or ev.is_verified(member):
        await go_on(turn, member, next_step)
        return
    await send_code(turn, member)
    await turn.go(S.EMAIL_CODE)


async def verify_then(turn: Turn, then: str) -> bool:
    """True when the member's address is verified (or verification is off). Otherwise mails a code,
    opens the code step and, once verified, runs the command `then`; returns False."""
    member = turn.member
    if not verification_on(turn) or ev.is_verified(member):
        return True
    assert member is not None
    if turn.state is not None:
        await turn.finish()
    turn.say("email.verify_first", address=member.email or "")
    if member.email_undeliverable_at is None:
        await send_code(turn, member)
    await turn.go(S.EMAIL_CODE, then=then)
    return False


async def ask_code(turn: Turn) -> None:
    member = turn.member
    assert member is not None
    rows: ButtonRows = [[(turn.t("email.resend"), "resend"), (turn.t("email.change"), "change")]]
    markup = keyboard(turn, rows)
    if ev.is_verified(member):  # came back here with ⬅️ Back: the question before it instead
        await turn.back()
        turn.reask()
        return
    code = await ev.open_code(turn.session, member)
    if member.email_undeliverable_at is not None:
        turn.say("email.step.undeliverable", address=member.email or "", markup=markup)
    elif code is None or code.expires_at <= turn.now:
        turn.say("email.step.no_code", address=member.email or "", markup=markup)
    else:
        minutes = max(1, round((code.expires_at - turn.now).total_seconds() / 60))
        turn.say("email.step.ask", address=member.email or "", minutes=minutes, markup=markup)


async def on_code(turn: Turn) -> None:
    member = turn.member
    assert member is not None
    checked = await ev.check_code(turn.session, member, turn.text or "", now=turn.now)
    outcome = checked.outcome
    if outcome is ev.Outcome.VERIFIED:
        turn.say("email.step.verified", address=member.email or "")
        await _verified(turn, member)
    elif outcome is ev.Outcome.WRONG:
        turn.say("email.step.wrong", tries=checked.tries_left)
    elif outcome is ev.Outcome.LOCKED:
        turn.say("email.refused.locked", address=member.email or "", until=_when(turn, checked.until))
    elif outcome is ev.Outcome.NOT_A_CODE:
        turn.say("email.step.not_a_code")
    else:  # expired, or none open
        turn.say(
            "email.step.expired" if outcome is ev.Outcome.EXPIRED else "email.step.no_code", address=member.email or ""
        )


async def _verified(turn: Turn, member: Member) -> None:
    """The journey goes on where the customer was headed."""
    then = answers(turn).then
    if editing(turn):
        await show_edited(turn, member)
    elif members.is_complete(member):  # verifying on the way to a redeem
        await turn.finish()
        router = commands.router
        if then and router is not None and then in router.commands:
            await router.commands[then](turn)
    else:
        await go_on(turn, member, S.FIRST_NAME)


async def on_code_action(turn: Turn, action: Action) -> None:
    member = turn.member
    assert member is not None
    if action.name == "resend":
        if await send_code(turn, member):
            turn.say("email.step.sent_again", address=member.email or "")
        turn.reask()
    elif action.name == "change":
        await turn.go(S.EMAIL)
    else:
        raise StaleButton()


async def toggle_copies(turn: Turn) -> None:
    """The card's "Decisions by e-mail" button: on needs a verified address, off always works."""
    from conversations.profile_core import card_keyboard, render_profile

    member = turn.member
    assert member is not None
    wanted = not member.email_copies
    if wanted and not ev.is_verified(member):
        turn.notify("email.copies.needs_verified", alert=True)
        return
    member = await members.set_email_copies(turn.session, turn.user_id, wanted, now=turn.now)
    turn.member = member
    turn.say("email.copies.set_on" if wanted else "email.copies.set_off")
    turn.say_text(render_profile(turn, member), markup=card_keyboard(turn))
