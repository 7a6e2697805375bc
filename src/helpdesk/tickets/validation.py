"""Input rules for ticket fields, shared by every channel (portal, console, API, email)."""

from __future__ import annotations

import re
from typing import Any

from helpdesk.errors import ValidationFailed
from helpdesk.tickets.models import Category

SUBJECT_MAX = 200
DESCRIPTION_MAX = 20_000
TAG_MAX = 50
TAGS_MAX = 20
FIELD_VALUE_MAX = 1_000
_TAG_RE = re.compile(r"^[a-z0-9][a-z0-9_.:-]*$")


def has_nul(value: str) -> bool:
    """Postgres text cannot hold NUL characters; they never come from a real person either."""
    return "\x00" in value


class Errors:
    """Collects field errors so a form shows all of them at once."""

    def __init__(self) -> None:
        self.fields: dict[str, str] = {}

    def add(self, field: str, message: str) -> None:
        self.fields.setdefault(field, message)

    def raise_if_any(self) -> None:
        if self.fields:
            first = next(iter(self.fields.values()))
            raise ValidationFailed(
                first if len(self.fields) == 1 else "Please correct the marked fields.", fields=self.fields
            )


def clean_subject(value: str | None, errors: Errors) -> str:
    subject = " ".join((value or "").split())
    if not subject:
        errors.add("subject", "Subject is required.")
    elif has_nul(subject):
        errors.add("subject", "Subject contains characters that are not allowed.")
    elif len(subject) > SUBJECT_MAX:
        errors.add("subject", f"Subject must be at most {SUBJECT_MAX} characters.")
    return subject


def clean_body(
    value: str | None, errors: Errors, field: str = "description", label: str = "Description"
) -> str:
    body = (value or "").strip()
    if not body:
        errors.add(field, f"{label} is required.")
    elif has_nul(body):
        errors.add(field, f"{label} contains characters that are not allowed.")
    elif len(body) > DESCRIPTION_MAX:
        errors.add(field, f"{label} must be at most {DESCRIPTION_MAX:,} characters.")
    return body


def clean_priority(value: Any, errors: Errors, field: str = "priority") -> int | None:
    if isinstance(value, str):
        value = value.strip().upper().removeprefix("P")
        value = int(value) if value.isdigit() else value
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 4:
        errors.add(field, "Priority must be one of P1, P2, P3 or P4.")
        return None
    return value


def clean_tags(values: list[str], errors: Errors) -> list[str]:
    tags: list[str] = []
    for raw in values:
        tag = raw.strip().lower().replace(" ", "-")
        if not tag:
            continue
        if len(tag) > TAG_MAX or not _TAG_RE.fullmatch(tag):
            errors.add("tags", f"Tag {raw[:60]!r} may only use letters, digits and - _ . : (max {TAG_MAX}).")
            continue
        if tag not in tags:
            tags.append(tag)
    if len(tags) > TAGS_MAX:
        errors.add("tags", f"At most {TAGS_MAX} tags.")
    return tags


def clean_template_fields(category: Category | None, given: dict[str, Any], errors: Errors) -> dict[str, Any]:
    """Validate answers to a category's template fields; unknown keys are dropped."""
    if category is None:
        return {}
    answers: dict[str, Any] = {}
    for spec in category.fields:
        name = str(spec["name"])
        label = str(spec.get("label", name))
        raw = given.get(name)
        value = raw.strip() if isinstance(raw, str) else raw
        if value in (None, ""):
            if spec.get("required"):
                errors.add(f"field_{name}", f"{label} is required.")
            continue
        value = str(value)
        if has_nul(value):
            errors.add(f"field_{name}", f"{label} contains characters that are not allowed.")
            continue
        if len(value) > FIELD_VALUE_MAX:
            errors.add(f"field_{name}", f"{label} must be at most {FIELD_VALUE_MAX} characters.")
            continue
        options = spec.get("options")
        if options and value not in options:
            errors.add(f"field_{name}", f"{label} must be one of: {', '.join(map(str, options))}.")
            continue
        answers[name] = value
    return answers
