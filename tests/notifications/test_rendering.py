"""Templates as data (sandboxed Jinja), reply tokens and the MIME message."""

from __future__ import annotations

import pytest

from helpdesk.notifications.defaults import all_defaults
from helpdesk.notifications.kinds import KINDS
from helpdesk.notifications.rendering import SAMPLE_CONTEXT, TemplateSource, check, render, sample_for
from helpdesk.notifications.tokens import parse_reply_token, reply_address, reply_token
from helpdesk.notifications.transports import OutgoingMail, SmtpConfig, build_message


def test_every_default_template_renders_the_sample_without_errors() -> None:
    defaults = all_defaults()
    assert set(defaults) == {k.key for k in KINDS}
    for key, source in defaults.items():
        assert check(source, key) == {}, key
        mail = render(source, sample_for(key))
        assert ("Backlog digest" if key == "backlog_digest" else "HD-1042") in mail.subject, key
        assert "\n" not in mail.subject
        assert mail.html.startswith("<!doctype html>")
        assert "Manage your notifications" in mail.text


def test_the_digest_template_is_checked_against_the_digest_sample() -> None:
    source = all_defaults()["backlog_digest"]
    assert check(source, "backlog_digest") == {}
    assert "digest" in check(source, "request_received")["subject"]  # a ticket mail has no digest
    bad = TemplateSource("{{ digest.date }}", "{% for t in digest.teams %}{{ t.nmae }}{% endfor %}", "")
    assert check(bad, "backlog_digest") == {
        "body_text": "Line 1: Unknown variable: 'dict object' has no attribute 'nmae'"
    }
    mail = render(source, sample_for("backlog_digest"))
    assert "HD-1042" in mail.text  # the at-risk ticket of the sample
    assert "P1 1" in mail.text


def test_syntax_errors_are_reported_with_their_line_number() -> None:
    source = TemplateSource(
        "Hi {{ ticket.reference }}", "line one\nline two\n{% if x %}\nno end", "<p>ok</p>"
    )
    errors = check(source)
    assert set(errors) == {"body_text"}
    assert errors["body_text"].startswith("Line 4:")
    assert "endif" in errors["body_text"]


def test_unknown_variables_and_sandbox_escapes_are_refused() -> None:
    errors = check(TemplateSource("{{ tiket.reference }}", "ok", "<p>\n{{ ticket.__class__.__mro__ }}</p>"))
    assert errors["subject"] == "Line 1: Unknown variable: 'tiket' is undefined"
    assert errors["body_html"].startswith("Line 2: Not allowed in a template:")


def test_html_is_autoescaped_and_text_is_not() -> None:
    context = {**SAMPLE_CONTEXT, "message": {"body": "<script>x()</script> & co", "author": "A"}}
    mail = render(
        TemplateSource("{{ message.body }}", "{{ message.body }}", "<p>{{ message.body }}</p>"), context
    )
    assert "<p>&lt;script&gt;x()&lt;/script&gt; &amp; co</p>" in mail.html
    assert "<script>" not in mail.html
    assert mail.text.startswith("<script>x()</script> & co")


def test_reply_tokens_round_trip_and_refuse_tampering() -> None:
    token = reply_token(4242)
    assert token == token.lower()
    assert len(token) < 30
    address = reply_address(4242, "help.example.com")
    assert address == f"helpdesk+{token}@help.example.com"
    assert parse_reply_token(address) == 4242
    assert parse_reply_token(f"Helpdesk <{address.upper()}>") == 4242  # case folded by a relay
    assert parse_reply_token(token) == 4242
    forged = token.replace("4242.", "4243.")
    assert parse_reply_token(f"helpdesk+{forged}@help.example.com") is None
    flipped = token[:-1] + ("a" if token[-1] != "a" else "b")
    assert parse_reply_token(flipped) is None
    assert parse_reply_token(reply_token(4242, secret="another key")) is None
    assert parse_reply_token("helpdesk@help.example.com") is None
    assert parse_reply_token("") is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example.com", ("mail.example.com", 25, False, False, None, None)),
        ("smtp://u%40x:p%2Fw@mx:2525?starttls=1", ("mx", 2525, False, True, "u@x", "p/w")),
        ("smtp+starttls://u:p@mx", ("mx", 587, False, True, "u", "p")),
        ("smtps://u:p@mx", ("mx", 465, True, False, "u", "p")),
    ],
)
def test_smtp_url(url: str, expected: tuple[object, ...]) -> None:
    c = SmtpConfig.parse(url)
    assert (c.host, c.port, c.implicit_tls, c.starttls, c.username, c.password) == expected


def test_smtp_url_must_be_smtp() -> None:
    with pytest.raises(ValueError, match="SMTP_URL"):
        SmtpConfig.parse("http://mx")


def test_message_is_multipart_with_threading_headers() -> None:
    msg = build_message(
        OutgoingMail(
            sender="Helpdesk <helpdesk@example.com>",
            to="erin@example.com",
            subject="[HD-1] Héllo",
            text="plain",
            html="<p>html</p>",
            message_id="<hd-1-7@example.com>",
            in_reply_to="<hd-1@example.com>",
            references="<hd-1@example.com>",
            reply_to="helpdesk+1.abc@example.com",
        )
    )
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg["Message-ID"] == "<hd-1-7@example.com>"
    assert msg["In-Reply-To"] == msg["References"] == "<hd-1@example.com>"
    assert msg["Reply-To"] == "helpdesk+1.abc@example.com"
    assert msg["Auto-Submitted"] == "auto-generated"
