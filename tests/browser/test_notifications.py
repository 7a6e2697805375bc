"""Admin notification settings in a real browser: the live preview follows the editor, and a
template with a syntax error is refused with its line number."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.helpers import login, shot


def test_admin_edits_a_template_and_sees_the_preview(page: Page, live_server: str) -> None:
    page.set_viewport_size({"width": 1440, "height": 900})
    login(page, live_server, "admin@example.com")
    page.goto(live_server + "/settings/notifications")
    expect(page.get_by_role("heading", name="Notification templates")).to_be_visible()
    shot(page, "settings-notification-templates")
    page.get_by_role("link", name="Reply to your request").click()

    preview = page.locator("#preview")
    expect(preview.locator("[data-preview-subject]")).to_contain_text("[HD-1042] Ian Agent replied")
    # Typing re-renders the sample ticket through htmx, without saving anything.
    page.get_by_label("Subject").fill("Update on {{ ticket.reference }} for {{ recipient.name }}")
    expect(preview.locator("[data-preview-subject]")).to_have_text("Update on HD-1042 for Erin Employee")
    page.get_by_label("HTML body").fill("<p>Dear {{ recipient.name }},</p>\n<p>{{ message.body }}</p>")
    frame = page.frame_locator("#preview iframe")
    expect(frame.locator("body")).to_contain_text("Dear Erin Employee")
    shot(page, "settings-notification-preview")

    page.get_by_label("Text body").fill("Hello\n{% if ticket.team %}\nno end")
    expect(preview).to_contain_text("Text body: Line 3:")
    page.get_by_role("button", name="Save template").click()
    expect(page.locator("#f-body_text-error")).to_contain_text("Line 3:")
    expect(page.get_by_label("Text body")).to_have_attribute("aria-invalid", "true")
    shot(page, "settings-notification-error")

    page.get_by_role("link", name="Mail log").click()
    expect(page.get_by_role("heading", name="Mail log")).to_be_visible()
    shot(page, "settings-mail-log")
