"""Rendering notification templates: admin-edited Jinja run in a sandbox.

Templates are data (ARCHITECTURE rule 6), so they are compiled with
jinja2.sandbox.SandboxedEnvironment: no access to Python internals, no file loader, HTML
autoescaped. The variables a template may use are listed in doc_for(kind) and shown beside the
editor; sample_for(kind) is what the preview and the save-time check render against. Ticket
mails share one context; the lead's backlog digest has its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateError,
    TemplateSyntaxError,
    Undefined,
    UndefinedError,
)
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

from helpdesk.web.templating import TEMPLATE_DIR

FIELDS = ("subject", "body_text", "body_html")
FIELD_LABELS = {"subject": "Subject", "body_text": "Text body", "body_html": "HTML body"}
MAX_SUBJECT = 300


@dataclass(frozen=True)
class TemplateSource:
    subject: str
    body_text: str
    body_html: str

    def field(self, name: str) -> str:
        value: str = getattr(self, name)
        return value

    def as_dict(self) -> dict[str, str]:
        return {name: self.field(name) for name in FIELDS}


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


# (variable, what it holds) — shown on the settings page next to the editor.
CONTEXT_DOC: tuple[tuple[str, str], ...] = (
    ("ticket.reference", "The ticket number with its prefix, e.g. HD-1042"),
    ("ticket.number", "The number alone, e.g. 1042"),
    ("ticket.subject", "The subject line of the ticket"),
    ("ticket.status", "The status (in plain words for requesters)"),
    ("ticket.priority", "The priority with its label, e.g. P2 · High"),
    ("ticket.team", "The owning team's name (empty while untriaged)"),
    ("ticket.requester", "The requester's name"),
    ("ticket.url", "Link to the ticket (portal for requesters, console for agents)"),
    ("recipient.name", "Who the mail is for"),
    ("recipient.email", "Their address"),
    ("actor.name", "Who did what the mail is about"),
    ("message.body", "The reply or note text (reply, note and mention mails)"),
    ("message.author", "Who wrote it"),
    ("site.name", "The product name"),
    ("site.url", "The helpdesk address"),
    ("preferences_url", "Where the recipient manages their notifications"),
)

SAMPLE_CONTEXT: dict[str, Any] = {
    "ticket": {
        "reference": "HD-1042",
        "number": 1042,
        "subject": "VPN drops every few minutes",
        "status": "In progress",
        "priority": "P2 · High",
        "team": "IT",
        "requester": "Erin Employee",
        "url": "https://helpdesk.example.com/portal/tickets/1042",
    },
    "recipient": {"name": "Erin Employee", "email": "employee@example.com"},
    "actor": {"name": "Ian Agent"},
    "message": {
        "body": "Thanks for the details. Could you try the new VPN profile?\nIt fixes the timeouts.",
        "author": "Ian Agent",
    },
    "site": {"name": "Helpdesk", "url": "https://helpdesk.example.com"},
    "preferences_url": "https://helpdesk.example.com/account/notifications",
}


DIGEST_KIND = "backlog_digest"

DIGEST_CONTEXT_DOC: tuple[tuple[str, str], ...] = (
    ("digest.date", "The day of the digest, e.g. Friday 27 November 2026"),
    ("digest.total_open", "Open tickets across the lead's teams"),
    ("digest.total_at_risk", "How many of them need attention"),
    ("digest.teams", "One entry per team (loop: {% for team in digest.teams %})"),
    ("team.name / team.url", "The team and a link to its backlog"),
    ("team.open, team.unassigned, team.waiting", "Open, unassigned, and waiting on someone else"),
    ("team.p1 … team.p4", "Open tickets by priority"),
    ("team.over_1d, team.over_3d, team.over_7d", "Open tickets older than 1, 3 and 7 days"),
    ("team.oldest_age", "Age of the oldest open ticket, e.g. 9 days"),
    ("team.at_risk", "Tickets needing attention: P1/P2 without a first response, unassigned over a day"),
    ("ticket.reference, .subject, .priority, .age, .assignee, .reason, .url", "Inside team.at_risk"),
    ("recipient.name", "The lead"),
    ("site.name / site.url", "The product name and address"),
    ("preferences_url", "Where the lead changes or stops the digest"),
)

_SAMPLE_AT_RISK = {
    "reference": "HD-1042",
    "subject": "VPN drops every few minutes",
    "priority": "P1 · Critical",
    "age": "3 hours",
    "assignee": "Ian Agent",
    "reason": "No first response yet",
    "url": "https://helpdesk.example.com/console/tickets/1042",
}
DIGEST_SAMPLE: dict[str, Any] = {
    "digest": {
        "date": "Friday 27 November 2026",
        "total_open": 42,
        "total_at_risk": 1,
        "teams": [
            {
                "name": "IT",
                "url": "https://helpdesk.example.com/console/teams/it",
                "open": 42,
                "unassigned": 5,
                "waiting": 7,
                "p1": 1,
                "p2": 6,
                "p3": 30,
                "p4": 5,
                "over_1d": 20,
                "over_3d": 9,
                "over_7d": 2,
                "oldest_age": "9 days",
                "at_risk": [_SAMPLE_AT_RISK],
            }
        ],
    },
    "recipient": {"name": "Lena Lead", "email": "lead.it@example.com"},
    "site": {"name": "Helpdesk", "url": "https://helpdesk.example.com"},
    "preferences_url": "https://helpdesk.example.com/account/notifications",
}


def sample_for(kind: str) -> dict[str, Any]:
    return DIGEST_SAMPLE if kind == DIGEST_KIND else SAMPLE_CONTEXT


def doc_for(kind: str) -> tuple[tuple[str, str], ...]:
    return DIGEST_CONTEXT_DOC if kind == DIGEST_KIND else CONTEXT_DOC


def _sandbox(*, html: bool, strict: bool) -> SandboxedEnvironment:
    return SandboxedEnvironment(
        autoescape=html,
        undefined=StrictUndefined if strict else Undefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


_TEXT = _sandbox(html=False, strict=False)
_HTML = _sandbox(html=True, strict=False)
_TEXT_STRICT = _sandbox(html=False, strict=True)
_HTML_STRICT = _sandbox(html=True, strict=True)


@lru_cache(maxsize=1)
def _frame_env() -> Environment:
    # Our own files (not admin data): the HTML frame around every mail body.
    return Environment(loader=FileSystemLoader(TEMPLATE_DIR), autoescape=True)


def _env(name: str, *, strict: bool) -> SandboxedEnvironment:
    if name == "body_html":
        return _HTML_STRICT if strict else _HTML
    return _TEXT_STRICT if strict else _TEXT


def check(source: TemplateSource, kind: str = "request_received") -> dict[str, str]:
    """Field errors for a template about to be saved: syntax errors with their line number,
    then unknown variables and sandbox violations found by rendering the kind's sample."""
    errors: dict[str, str] = {}
    for name in FIELDS:
        text = source.field(name)
        env = _env(name, strict=True)
        try:
            template = env.from_string(text)
        except TemplateSyntaxError as exc:
            errors[name] = f"Line {exc.lineno}: {exc.message}"
            continue
        try:
            template.render(sample_for(kind))
        except TemplateError as exc:
            errors[name] = _runtime_error(exc)
    if "subject" not in errors and not source.subject.strip():
        errors["subject"] = "The subject cannot be empty."
    if "body_text" not in errors and not source.body_text.strip():
        errors["body_text"] = "The text body cannot be empty (some mail clients show only text)."
    return errors


def _template_line(exc: BaseException) -> int | None:
    # Jinja rewrites tracebacks so the template's own frames carry its line numbers.
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _runtime_error(exc: TemplateError) -> str:
    if isinstance(exc, UndefinedError):
        what = f"Unknown variable: {exc.message}"
    elif isinstance(exc, SecurityError):
        what = f"Not allowed in a template: {exc.message}"
    else:
        what = exc.message or type(exc).__name__
    line = _template_line(exc)
    return f"Line {line}: {what}" if line else what


def _one_line(value: str) -> str:
    return re.sub(r"\s+", " ", value).strip()[:MAX_SUBJECT]


@lru_cache(maxsize=256)
def _compiled(source: str, *, html: bool) -> Template:
    """A template's source compiled once per process: compiling costs far more than rendering
    (over a quarter of a worker's CPU in a notification burst, docs/PERFORMANCE.md). Keyed by the
    text itself, so an edited template is simply a new entry."""
    return (_HTML if html else _TEXT).from_string(source)


def render(source: TemplateSource, context: dict[str, Any]) -> Rendered:
    """The mail for one recipient. Lenient about unknown variables (they render empty) so a
    template edited into a corner still sends; check() refuses them at save time."""
    subject = _one_line(_compiled(source.subject, html=False).render(context))
    text = _compiled(source.body_text, html=False).render(context).strip() + "\n"
    inner = _compiled(source.body_html, html=True).render(context)
    html = (
        _frame_env()
        .get_template("email/_frame.html.j2")
        .render(content=Markup(inner), subject=subject, **context)  # noqa: S704 - output of the autoescaping sandbox
    )
    footer = context.get("preferences_url")
    if footer:
        text += f"\n--\nManage your notifications: {footer}\n"
    return Rendered(subject=subject or "(no subject)", text=text, html=html)


def render_sample(source: TemplateSource, kind: str) -> tuple[Rendered | None, dict[str, str]]:
    """For the live preview: the kind's sample rendered, or the errors check() finds."""
    errors = check(source, kind)
    if errors:
        return None, errors
    return render(source, sample_for(kind)), {}
