"""The default text of every kind of mail: templates/email/<kind>/{subject.txt,body.txt,body.html}.j2.

These files seed the notification_templates rows (migration 0003, and on first use for kinds
added later); admins then edit the rows, and "Reset to default" copies the file back."""

from __future__ import annotations

from helpdesk.notifications.kinds import KINDS
from helpdesk.notifications.rendering import TemplateSource
from helpdesk.web.templating import TEMPLATE_DIR

EMAIL_DIR = TEMPLATE_DIR / "email"
FILES = {"subject": "subject.txt.j2", "body_text": "body.txt.j2", "body_html": "body.html.j2"}


def default_source(kind: str) -> TemplateSource:
    folder = EMAIL_DIR / kind
    values = {name: (folder / file).read_text(encoding="utf-8") for name, file in FILES.items()}
    return TemplateSource(
        subject=values["subject"].strip(), body_text=values["body_text"], body_html=values["body_html"]
    )


def all_defaults() -> dict[str, TemplateSource]:
    return {k.key: default_source(k.key) for k in KINDS}
