"""A real local SMTP server (aiosmtpd) and the mailbox it fills, for the demo and the tests.

The bot sends its mails here over SMTP as it would to any relay; every mail is kept in memory per
recipient, shown by the browser page ``/mailbox`` (``/mailbox?address=alice@example.com``) and
served as JSON at ``/_emu/mailbox``. Tests wait for a mail (awaited, never polled), make the server
refuse an address for good (``refuse``: a 550 to RCPT TO) or stop and start it (the server down).
Standalone like the rest of the emulator: it imports nothing of the product.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import weakref
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiohttp import web
from aiosmtpd.smtp import SMTP, Envelope, Session

STATIC_DIR = Path(__file__).with_name("static")


@dataclass(frozen=True)
class Mail:
    """One received mail, as a person reads it."""

    seq: int
    received_at: str
    mail_from: str
    to: list[str]
    subject: str
    text: str
    html: str
    headers: dict[str, str] = field(default_factory=dict)


def _parts(message: EmailMessage) -> tuple[str, str]:
    """The plain-text and HTML bodies of a (possibly multipart) mail."""
    plain = message.get_body(preferencelist=("plain",))
    rich = message.get_body(preferencelist=("html",))
    text = plain.get_content() if isinstance(plain, EmailMessage) else ""
    html = rich.get_content() if isinstance(rich, EmailMessage) else ""
    return str(text), str(html)


class Mailbox:
    """Every mail the SMTP server accepted, in order; addresses compared in lower case."""

    def __init__(self) -> None:
        self.mails: list[Mail] = []
        self.refused: dict[str, tuple[int, str]] = {}  # address -> the permanent refusal RCPT TO gets
        self._changed = asyncio.Event()

    def refuse(self, address: str, code: int = 550, message: str = "5.1.1 Mailbox unavailable") -> None:
        """From now on the server refuses mail to `address` (a permanent failure by default)."""
        self.refused[address.lower()] = (code, message)

    def accept(self, address: str) -> None:
        self.refused.pop(address.lower(), None)

    def add(self, mail_from: str, recipients: list[str], data: bytes) -> Mail:
        message = email.message_from_bytes(data, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        text, html = _parts(message)
        mail = Mail(
            seq=len(self.mails) + 1,
            received_at=datetime.now(UTC).isoformat(timespec="seconds"),
            mail_from=mail_from,
            to=[r.lower() for r in recipients],
            subject=str(message.get("Subject", "")),
            text=text,
            html=html,
            headers={k: str(v) for k, v in message.items()},
        )
        self.mails.append(mail)
        self._changed.set()
        self._changed = asyncio.Event()
        return mail

    def addresses(self) -> list[str]:
        return sorted({to for mail in self.mails for to in mail.to})

    def for_address(self, address: str) -> list[Mail]:
        wanted = address.lower()
        return [mail for mail in self.mails if wanted in mail.to]

    async def wait_for(self, address: str, after: int = 0, timeout: float = 10.0) -> Mail:
        """The first mail to `address` with a seq above `after`, waiting for it to arrive."""
        async with asyncio.timeout(timeout):
            while True:
                for mail in self.for_address(address):
                    if mail.seq > after:
                        return mail
                await self._changed.wait()

    @property
    def last_seq(self) -> int:
        return len(self.mails)


class _Handler:
    """aiosmtpd's handler: refuses what the mailbox says, stores the rest."""

    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        refusal = self.mailbox.refused.get(address.lower())
        if refusal is not None:
            return f"{refusal[0]} {refusal[1]}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        content = envelope.original_content or (
            envelope.content if isinstance(envelope.content, bytes) else str(envelope.content or "").encode()
        )
        self.mailbox.add(str(envelope.mail_from or ""), list(envelope.rcpt_tos), content)
        return "250 Message accepted for delivery"


class MailServer:
    """The SMTP server on `host:port` (0 = a free port, kept across a stop and a start)."""

    def __init__(self, mailbox: Mailbox, host: str = "127.0.0.1", port: int = 0) -> None:
        self.mailbox = mailbox
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None
        self._connections: weakref.WeakSet[SMTP] = weakref.WeakSet()

    @property
    def running(self) -> bool:
        return self._server is not None

    async def start(self) -> None:
        if self._server is not None:
            return
        handler = _Handler(self.mailbox)
        loop = asyncio.get_running_loop()

        def connection() -> SMTP:
            protocol = SMTP(handler, hostname="mailbox.emulator", ident="emulator mailbox")
            self._connections.add(protocol)
            return protocol

        self._server = await loop.create_server(connection, self.host, self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Closes the listening socket and any conversation still open: the server is down."""
        if self._server is not None:
            self._server.close()
            for protocol in self._connections:  # a client cut off mid-send must not keep us waiting
                transport = getattr(protocol, "transport", None)
                if transport is not None:
                    transport.close()
            self._connections.clear()
            with contextlib.suppress(TimeoutError):  # Python 3.12+ waits for every connection here
                await asyncio.wait_for(self._server.wait_closed(), 2.0)
            self._server = None


MAILBOX_KEY = web.AppKey("emulator_mailbox", Mailbox)


async def _page(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(STATIC_DIR / "mailbox.html", headers={"Cache-Control": "no-store"})


async def _mails(request: web.Request) -> web.Response:
    mailbox = request.app[MAILBOX_KEY]
    address = request.query.get("address", "").strip()
    mails = mailbox.for_address(address) if address else mailbox.mails
    body: dict[str, Any] = {"addresses": mailbox.addresses(), "mails": [asdict(m) for m in reversed(mails)]}
    return web.json_response(body)


def add_mailbox_routes(app: web.Application, mailbox: Mailbox) -> None:
    """``GET /mailbox`` (the page) and ``GET /_emu/mailbox[?address=…]`` (its JSON)."""
    app[MAILBOX_KEY] = mailbox
    app.router.add_get("/mailbox", _page)
    app.router.add_get("/_emu/mailbox", _mails)
