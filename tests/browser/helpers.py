from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

SHOTS = Path(__file__).resolve().parents[2] / "test-results" / "screenshots"


def login(page: Page, base_url: str, email: str, password: str = "demo") -> None:
    page.goto(base_url + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign in")).to_have_count(0)


def logout(page: Page) -> None:
    page.context.clear_cookies()


def shot(page: Page, name: str) -> None:
    """Screenshots of every flow land in test-results/screenshots for people to look at."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
