"""The M1 exit criterion, end to end in Chromium: create → triage → assign → reply → resolve → close."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from tests.browser.helpers import login, shot


def test_request_lifecycle_between_employee_and_agent(browser: Browser, live_server: str) -> None:
    employee: Page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
    agent: Page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()

    # The employee asks for help.
    login(employee, live_server, "employee@example.com")
    employee.goto(live_server + "/portal/new?team=it")
    employee.get_by_label("What is it about?").select_option(label="Network & VPN")
    employee.get_by_label("Subject").fill("Wi-Fi on floor 3 keeps dropping")
    employee.get_by_label("Describe what you need").fill(
        "Since this morning the Wi-Fi drops every few minutes."
    )
    employee.get_by_role("button", name="Send request").click()
    expect(employee.get_by_role("heading", name="Wi-Fi on floor 3 keeps dropping")).to_be_visible()
    reference = re.search(r"HD-\d+", employee.locator(".page-header").inner_text())
    assert reference is not None
    number = reference.group(0).removeprefix("HD-")

    # The IT agent finds it in the team backlog and takes it.
    login(agent, live_server, "agent.it@example.com")
    agent.goto(live_server + "/console/teams/it")
    row = agent.locator(f'tr[data-href="/console/tickets/{number}"]')
    expect(row).to_contain_text("Wi-Fi on floor 3 keeps dropping")
    shot(agent, "console-backlog")
    row.get_by_role("button", name="Take").click()
    expect(row).not_to_contain_text("Take")
    agent.goto(f"{live_server}/console/tickets/{number}")
    expect(agent.locator("#p-status option:checked")).to_have_text("Assigned")

    # An internal note for colleagues, then a public reply to the employee.
    agent.locator("#note-body").fill("Access point AP-3F-02 shows many reconnects; checking firmware.")
    agent.get_by_role("button", name="Add internal note").click()
    expect(agent.locator(".msg-internal").last).to_contain_text("AP-3F-02")
    agent.locator("#reply-body").fill("Thanks Emma, we are on it. Please tell us if it improves after 2 pm.")
    agent.get_by_role("button", name="Send reply").click()
    expect(agent.locator(".msg-public").last).to_contain_text("after 2 pm")
    shot(agent, "console-ticket")

    # The employee sees the reply and never the note.
    employee.goto(f"{live_server}/portal/tickets/{number}")
    expect(employee.locator(".thread")).to_contain_text("after 2 pm")
    expect(employee.locator("body")).not_to_contain_text("AP-3F-02")

    # The agent resolves it.
    agent.get_by_label("Change status").locator("select").select_option("resolved")
    expect(agent.locator("#toasts")).to_contain_text("Status changed to Resolved.")
    expect(agent.locator("#p-status option:checked")).to_have_text("Resolved")

    # The employee closes it.
    employee.reload()
    expect(employee.locator(".page-actions")).to_contain_text("Resolved")
    employee.get_by_role("button", name="Close request").click()
    expect(employee.locator(".page-actions")).to_contain_text("Closed")
    expect(employee.locator(".timeline")).to_contain_text("Closed")
    shot(employee, "portal-closed")

    agent.reload()
    expect(agent.locator("#p-status option:checked")).to_have_text("Closed")
