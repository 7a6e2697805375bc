"""Mail transports behind one Protocol, chosen by SMTP_URL.

- unset: the "log" transport keeps the mail in the database only (the admin mail log shows it).
- smtp://user:pass@host:587?starttls=1 or smtp+starttls://...: plain SMTP, optionally upgraded
  with STARTTLS; smtps://host:465: TLS from the first byte. User and password are optional.
"""

from __future__ import annotations

import functools
import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from helpdesk.config import Settings, get_settings

log = logging.getLogger("helpdesk.mail")
SMTP_TIMEOUT = 20.0


@dataclass(frozen=True)
class OutgoingMail:
    sender: str
    to: str
    subject: str
    text: str
    html: str
    message_id: str
    in_reply_to: str | None = None
    references: str | None = None
    reply_to: str | None = None


def build_message(mail: OutgoingMail) -> EmailMessage:
    """The RFC 5322 message: multipart/alternative with the text first, then the HTML."""
    msg = EmailMessage()
    msg["From"] = mail.sender
    msg["To"] = mail.to
    msg["Subject"] = mail.subject
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = mail.message_id
    if mail.in_reply_to:
        msg["In-Reply-To"] = mail.in_reply_to
    if mail.references:
        msg["References"] = mail.references
    if mail.reply_to:
        msg["Reply-To"] = mail.reply_to
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: autoresponders must not answer
    msg.set_content(mail.text)
    msg.add_alternative(mail.html, subtype="html")
    return msg


class Transport(Protocol):
    name: str

    def send(self, mail: OutgoingMail) -> None:
        """Hand the mail over or raise; raising makes the send task retry with backoff."""


class LogTransport:
    """Nothing leaves the machine: the delivery row (bodies included) is the record."""

    name = "log"

    def send(self, mail: OutgoingMail) -> None:
        log.info("mail kept in the database (no SMTP_URL): %s to %s", mail.message_id, mail.to)


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    implicit_tls: bool
    starttls: bool
    username: str | None
    password: str | None

    @classmethod
    def parse(cls, url: str) -> SmtpConfig:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("smtp", "smtps", "smtp+starttls"):
            raise ValueError(
                f"SMTP_URL must start with smtp://, smtps:// or smtp+starttls:// (got {scheme}://)"
            )
        query = parse_qs(parts.query)
        flag = (query.get("starttls") or ["0"])[0].lower()
        implicit = scheme == "smtps"
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or (465 if implicit else 587 if scheme == "smtp+starttls" else 25),
            implicit_tls=implicit,
            starttls=scheme == "smtp+starttls" or flag in ("1", "true", "yes"),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One per process, built on first TLS use: creating a context loads the system CA bundle,
    which costs more CPU than a whole SMTP conversation with a local relay. A context is safe
    to share between threads and connections."""
    return ssl.create_default_context()


class SmtpTransport:
    name = "smtp"

    def __init__(self, config: SmtpConfig, *, timeout: float = SMTP_TIMEOUT) -> None:
        self.config = config
        self.timeout = timeout

    def send(self, mail: OutgoingMail) -> None:
        c = self.config
        smtp: smtplib.SMTP
        if c.implicit_tls:
            smtp = smtplib.SMTP_SSL(c.host, c.port, timeout=self.timeout, context=_tls_context())
        else:
            smtp = smtplib.SMTP(c.host, c.port, timeout=self.timeout)
        with smtp:
            if c.starttls and not c.implicit_tls:
                smtp.starttls(context=_tls_context())
            if c.username:
                smtp.login(c.username, c.password or "")
            smtp.send_message(build_message(mail))


def transport_from_settings(settings: Settings | None = None) -> Transport:
    settings = settings or get_settings()
    if not settings.smtp_url:
        return LogTransport()
    return SmtpTransport(SmtpConfig.parse(settings.smtp_url))
