"""Reading HTML form fields into typed values (shared by portal and console controllers)."""

from __future__ import annotations

from litestar.datastructures import FormMultiDict


def text(form: FormMultiDict, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def optional_int(form: FormMultiDict, name: str) -> int | None:
    value = text(form, name).strip()
    return int(value) if value.isdigit() and len(value) < 18 else None


def int_list(form: FormMultiDict, name: str) -> list[int]:
    return [int(v) for v in form.getall(name, []) if isinstance(v, str) and v.isdigit() and len(v) < 18]


def optional_version(form: FormMultiDict) -> int | None:
    return optional_int(form, "version")
