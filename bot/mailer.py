"""The e-mail channel of the outbox: renders queued mails and sends them over SMTP (aiosmtplib).

A mail is rendered when it is sent, in the recipient's language, from the same locale catalogue as
the chat: `<key>.subject` and `<key>.body` (the body is the chat's HTML subset, so it becomes the
HTML part as it is and the plain-text part without its tags). SMTP_SECURITY picks implicit TLS
(`tls`, port 465), STARTTLS required (`starttls`, 587) or neither (`none`, a local relay).

What the server answers decides: 2xx sent; a temporary failure (no connection, a timeout, a 4xx)
is retried with a doubling backoff (BASE_BACKOFF … MAX_BACKOFF), up to MAX_ATTEMPTS; a permanent
refusal (5xx) marks the address undeliverable (storage.email_verification) and tells the customer
in the chat, through the Telegram outbox, in the transaction that settles the mail.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

import aiosmtplib

from bot.outbox import render_values
from bot.services import Services
from locales.i18n import as_plain_text
from storage import email_verification, mail_outbox, outbox
from storage.db import unit_of_work
from storage.models import MailMessage

log = logging.getLogger(__name__)
BASE_BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(hours=1)
MAX_ATTEMPTS = 24  # about a day of trying at the capped backoff


class Permanent(Exception):
    """The server refused the mail for good (a 5xx reply); `code` and `text` are its answer."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(f"{code} {text}")
        self.code, self.text = code, text


def _html(body: str) -> str:
    paragraphs = "".join(f"<p>{part.replace(chr(10), '<br>')}</p>" for part in body.split("\n\n") if part.strip())
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head>'
        f'<body style="font-family:sans-serif;line-height:1.5">{paragraphs}</body></html>'
    )


def render_mail(services: Services, message: MailMessage) -> EmailMessage:
    """The multipart (plain text + HTML) mail of a queued row, in its recipient's language."""
    translator = services.translator
    payload: dict[str, Any] = message.payload
    language = str(payload.get("language") or translator.default_language)
    key = str(payload["key"])
    values = render_values(translator, language, payload.get("values"))
    subject = as_plain_text(translator.t(language, f"{key}.subject", **values))
    body = translator.t(language, f"{key}.body", **values)
    mail = EmailMessage()
    mail["From"] = services.settings.smtp_from or ""
    mail["To"] = message.to_address
    mail["Subject"] = subject
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid(
        domain=(services.settings.smtp_from or "bot").rpartition("@")[2].strip("> ") or None
    )
    mail["Content-Language"] = language
    mail.set_content(as_plain_text(body))
    mail.add_alternative(_html(body), subtype="html")
    return mail


class Mailer:
    """Sends due mails; `drain_once` returns how many went out (the runtime loops it, tests tick it)."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def _smtp_send(self, mail: EmailMessage) -> None:
        settings = self.services.settings
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        try:
            await aiosmtplib.send(
                mail,
                hostname=settings.smtp_host,
                port=settings.smtp_port_or_default,
                username=settings.smtp_username or None,
                password=password if settings.smtp_username else None,
                use_tls=settings.smtp_security == "tls",
                start_tls=True if settings.smtp_security == "starttls" else False,
                timeout=settings.smtp_timeout_seconds,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refused = exc.recipients[0] if exc.recipients else None
            code = refused.code if refused is not None else 550
            text = refused.message if refused is not None else str(exc)
            if 500 <= code < 600:
                raise Permanent(code, text) from exc
            raise
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600 and not isinstance(exc, aiosmtplib.SMTPServerDisconnected):
                raise Permanent(exc.code, exc.message) from exc
            raise

    async def drain_once(self) -> int:
        """Sends every due mail, one after the other (a mail a second is far below any server's limit)."""
        sent = 0
        while True:
            now = self.services.clock.now()
            async with unit_of_work(self.services.sessions) as session:
                due = await mail_outbox.due(session, now, limit=20)
            if not due:
                return sent
            progressed = False
            for row in due:
                async with unit_of_work(self.services.sessions) as session:
                    if not await mail_outbox.start_sending(session, row.id, self.services.clock.now()):
                        continue  # another process took it
                progressed = True
                sent += await self._deliver(row)
            if not progressed:
                return sent

    async def _deliver(self, row: MailMessage) -> int:
        try:
            mail = render_mail(self.services, row)
        except Exception as exc:  # a mail that cannot be built must not stall the queue
            log.exception("mail %s could not be rendered", row.id)
            async with unit_of_work(self.services.sessions) as session:
                await mail_outbox.mark_failed(session, row.id, f"render failed: {type(exc).__name__}: {exc}")
            return 0
        try:
            await self._smtp_send(mail)
        except Permanent as refused:
            log.warning("mail %s to a customer refused for good: %s", row.id, refused)
            async with unit_of_work(self.services.sessions) as session:
                await mail_outbox.mark_failed(session, row.id, str(refused))
                await self._tell_customer(session, row, "email.undeliverable", f"{refused.code} {refused.text}")
            return 0
        except Exception as exc:  # no connection, a timeout, a 4xx, anything unforeseen: tried again later
            async with unit_of_work(self.services.sessions) as session:
                if row.attempts + 1 >= MAX_ATTEMPTS:
                    await mail_outbox.mark_failed(session, row.id, f"gave up: {exc}")
                    await self._tell_customer(session, row, "email.not_sent", str(exc))
                else:
                    delay = min(BASE_BACKOFF * 2**row.attempts, MAX_BACKOFF)
                    log.info("mail %s not sent (%s); trying again in %s", row.id, exc, delay)
                    await mail_outbox.mark_retry(session, row.id, self.services.clock.now() + delay, str(exc))
            return 0
        async with unit_of_work(self.services.sessions) as session:
            await mail_outbox.mark_sent(session, row.id, self.services.clock.now())
        return 1

    async def _tell_customer(self, session: Any, row: MailMessage, key: str, reply: str) -> None:
        """The customer hears in the chat that their mail did not arrive, with a way to fix the address."""
        if row.member_id is None or row.chat_id is None:
            return
        now = self.services.clock.now()
        member = (
            await email_verification.mark_undeliverable(session, row.member_id, row.to_address, now)
            if key == "email.undeliverable"
            else None
        )
        if key == "email.undeliverable" and member is None:
            return  # the address changed (or the member left) since: nothing to fix
        language = member.language if member is not None else str(row.payload.get("language") or "en")
        await outbox.enqueue(
            session,
            chat_id=row.chat_id,
            kind="email_notice",
            key=key,
            language=language,
            values={"address": row.to_address, "reply": _short(reply)},
            buttons=[[("email.change", "profile", "email")]],
            now=now,
        )


def _short(text: str, limit: int = 200) -> str:
    """The server's answer on one line, short enough for a chat message (escaped when rendered)."""
    clean = " ".join(text.split())
    return clean[:limit] + ("…" if len(clean) > limit else "")
