"""Browser tests: the hub served by a real HTTP server in a background thread, on the test app
and database, driven by Playwright in Debian's chromium (``/usr/bin/chromium``; Playwright's
own browser download is not used)."""

from __future__ import annotations

import os
import threading

import pytest
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("SCHAKEL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
#: the WCAG 2.1 A and AA rules of axe-core (EN 301 549, the Dutch government's standard)
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@pytest.fixture(scope="module")
def live_server(app):
    """The app on http://127.0.0.1:<free port>, threaded like a real deployment."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"!!! BROWSER TESTS SKIPPED: {CHROMIUM} is missing. Install Debian's chromium "
                    "(apt-get install chromium) to run them; ./scripts/test does so when run as root.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    """A fresh browser context (no cookies) per test; collects CSP violations and JS errors."""
    context = browser.new_context(base_url=live_server, locale="nl-NL", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.problems = []

    def on_console(msg) -> None:
        # HTTP statuses (a 400 after a failed login, no favicon) are not page problems.
        if "Content Security Policy" in msg.text or (
                msg.type == "error" and not msg.text.startswith("Failed to load resource")):
            page.problems.append(msg.text)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: page.problems.append(str(exc)))
    yield page
    context.close()


@pytest.fixture(scope="module")
def axe():
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


def assert_accessible(axe, page, what: str) -> None:
    """No WCAG 2.1 A/AA violation that axe-core can find on the page as it is now."""
    results = axe.run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
    assert results.violations_count == 0, f"{what} ({page.url}):\n{results.generate_report()}"


@pytest.fixture
def demo_region(app):
    """The demo region (Regio Waalrand) with all its seeders: consents, sociale kaart, routes, referrals."""
    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output


def log_in(page, email: str, password: str | None = None) -> None:
    """Log in through the login form (the demo password unless another is given)."""
    from network.demo import DEMO_PASSWORD

    page.goto("/inloggen")
    page.get_by_label("E-mailadres").fill(email)
    page.get_by_label("Wachtwoord", exact=True).fill(password or DEMO_PASSWORD)
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_load_state()
