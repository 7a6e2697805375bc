"""Settings in a real browser: a team lead connects the team's Slack channel (field errors,
the URL never shown again, a test post queued), asks for the daily backlog digest, and an
admin reads the settings overview."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.helpers import login, shot


def test_lead_adds_a_slack_webhook_and_subscribes_to_the_digest(page: Page, live_server: str) -> None:
    page.set_viewport_size({"width": 1440, "height": 900})
    login(page, live_server, "lead.it@example.com")
    page.goto(live_server + "/console")
    page.get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", name="Settings", exact=True)).to_be_visible()
    page.get_by_role("link", name="Chat webhooks").first.click()
    expect(page.get_by_role("heading", name="Chat webhooks", exact=True)).to_be_visible()
    page.get_by_role("link", name="Add webhook").first.click()

    page.get_by_label("Name").fill("#it-desk")
    page.get_by_label("Webhook URL").fill("http://hooks.slack.com/services/T1/B2/SECRETVALUE")
    page.get_by_label("Ticket resolved").check()
    page.get_by_role("button", name="Add webhook").click()
    expect(page.locator("#f-url-error")).to_contain_text("The URL must use https://.")
    expect(page.get_by_label("Webhook URL")).to_have_attribute("aria-invalid", "true")
    shot(page, "settings-webhook-error")

    page.get_by_label("Webhook URL").fill("https://hooks.slack.com/services/T1/B2/SECRETVALUE")
    page.get_by_role("button", name="Add webhook").click()
    expect(page.get_by_text("Webhook “#it-desk” added.")).to_be_visible()
    expect(page.get_by_text("https://hooks.slack.com/…ALUE").first).to_be_visible()
    assert "SECRETVALUE" not in page.content()
    page.get_by_role("button", name="Send a test message").click()
    expect(page.get_by_text("Test message queued")).to_be_visible()
    expect(page.locator("aside").get_by_text("Test message sent by Lena Lead", exact=False)).to_be_visible()
    shot(page, "settings-webhook-edit")
    page.get_by_role("link", name="Chat webhooks").first.click()
    expect(page.get_by_role("link", name="#it-desk")).to_be_visible()
    shot(page, "settings-webhooks")

    page.goto(live_server + "/account/notifications")
    digest = page.locator("#digest")
    expect(digest.get_by_role("heading", name="Daily backlog digest")).to_be_visible()
    digest.get_by_label("Send at").select_option(label="08:00")
    digest.get_by_label("Time zone").fill("Europe/Berlin")
    digest.get_by_role("button", name="Send me the digest").click()
    expect(page.get_by_text("You get the backlog digest every day at 08:00 (Europe/Berlin).")).to_be_visible()
    expect(page.locator("#digest")).to_contain_text("Next digest:")
    shot(page, "settings-digest")


def test_admin_sees_the_settings_overview(page: Page, live_server: str) -> None:
    page.set_viewport_size({"width": 1440, "height": 900})
    login(page, live_server, "admin@example.com")
    page.goto(live_server + "/settings")
    expect(page.get_by_role("heading", name="Background processes")).to_be_visible()
    expect(page.get_by_text("notifications.digests")).to_be_visible()
    shot(page, "settings-overview")
    page.get_by_role("link", name="Notification templates").first.click()
    expect(page.get_by_role("heading", name="Notification templates")).to_be_visible()
