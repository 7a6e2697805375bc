from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect

from tests.browser.helpers import login, shot


def test_employee_files_a_request_with_category_guidance(page: Page, live_server: str) -> None:
    login(page, live_server, "employee@example.com")
    page.get_by_role("link", name="New request").first.click()
    expect(page.get_by_role("heading", name="What do you need help with?")).to_be_visible()
    shot(page, "portal-areas")
    page.get_by_role("link", name="IT Service Desk").click()

    page.get_by_label("What is it about?").select_option(label="Laptop & hardware")
    # htmx swaps in the category's guidance and its template fields
    expect(page.locator("#guidance")).to_contain_text("asset tag")
    expect(page.get_by_label("Device")).to_be_visible()

    page.get_by_role("button", name="Send request").click()
    expect(page.locator(".field-error")).to_contain_text(["Subject is required."])
    shot(page, "portal-new-errors")

    subject = f"Docking station does not charge ({uuid.uuid4().hex[:6]})"
    page.get_by_label("Subject").fill(subject)
    page.get_by_label("Describe what you need").fill("The dock on desk 4.12 stopped charging my laptop.")
    page.get_by_label("Device").select_option("Dock")
    page.get_by_role("button", name="Send request").click()

    expect(page.get_by_role("heading", name=subject)).to_be_visible()
    expect(page.locator(".flash-success")).to_contain_text("received")
    expect(page.locator(".props")).to_contain_text("Dock")
    shot(page, "portal-request")

    page.get_by_role("link", name="My requests").first.click()
    expect(page.get_by_role("link", name=subject)).to_be_visible()
    page.get_by_label("Show").select_option("closed")
    expect(page.get_by_role("link", name=subject)).to_have_count(0)
    expect(page).to_have_url(re.compile(r"/portal\?state=closed"))  # filters live in the URL
    shot(page, "portal-list")


def test_requester_cannot_open_someone_elses_request(page: Page, live_server: str) -> None:
    login(page, live_server, "employee@example.com")
    # HD-1002 belongs to colleague@example.com in the demo data
    response = page.goto(live_server + "/portal/tickets/1002")
    assert response is not None
    assert response.status == 404
