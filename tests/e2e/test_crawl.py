"""Every page a newcomer can reach from the navigation, in a real browser, as a developer (carol)
and as a platform admin (alice), on a laptop (1280 px) and a phone (390 px), on the demo data.

The crawl fails on: a link that answers 4xx/5xx, a console error (Content-Security-Policy
violations included) or an uncaught script error, a page that scrolls sideways, a form field
without a label, and any serious or critical axe-core finding. It opens each kind of page once
(the first URL of each shape: /runs/1/ stands for every run) and checks the status of every
other link it finds.

`make screenshots` runs it with PAVED_SCREENSHOTS=<folder>: every page it opens is saved there
at both widths, for a reviewer to look at.
"""

from __future__ import annotations

import html
import os
import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.core.management import call_command
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, expect

from catalog.models import Entity
from portal.demo import DEMO_PASSWORD
from runs.runner import StepSpec, start_run
from tests.infra.conftest import SEED_REQUEST, drive

pytestmark = pytest.mark.django_db(transaction=True)

AXE_DIR = Path(__file__).with_name("axe")
AXE_JS = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
# Links the crawl does not open: file downloads are only status-checked; the sign-out page and
# Django's own admin screens beyond its index are not Paved's pages.
DOWNLOAD = re.compile(r"/export\.(csv|json)$|/raw/|\.(ya?ml|json|csv|txt|svg|png)$")
SKIP = re.compile(r"^/accounts/logout/|^/admin/.+|^/static/|^/hooks/|^/api/")
HREF = re.compile(r'<a [^>]*href="(/[^"#]*)')
MAX_PAGES = 90  # both personas: a bound on the crawl's time (reaching it fails the test)


def _axe_source() -> str:
    """axe-core from npm (pinned in tests/e2e/axe/package.json), installed when missing."""
    if not AXE_JS.exists():
        subprocess.run(
            ["npm", "install", "--no-package-lock", "--no-audit", "--no-fund", "--silent"],
            cwd=AXE_DIR,
            check=True,
            timeout=300,
        )
    return AXE_JS.read_text()


@dataclass
class Findings:
    problems: list[str] = field(default_factory=list)
    pages: list[str] = field(default_factory=list)

    def add(self, where: str, what: str) -> None:
        self.problems.append(f"{where}: {what}")


def shape(url: str) -> str:
    """What makes two URLs the same kind of page: the path with ids and names collapsed, and
    the query left out, except tabs, which are different pages."""
    parts = urlsplit(url)
    # Runs stay apart: a failed run and a finished one look different.
    path = (
        parts.path if parts.path.startswith("/runs/") else re.sub(r"/\d+(?=/|$)", "/N", parts.path)
    )
    tab = dict(parse_qsl(parts.query)).get("tab", "overview")
    # Overview pages differ by kind (people, teams, services); other tabs share a template.
    kind = r"\2" if tab == "overview" else "KIND"
    path = re.sub(r"^/catalog/([^/]+)/([^/]+)/[^/]+/", rf"/catalog/NS/{kind}/NAME/", path)
    path = re.sub(r"^/metrics/(teams|components)/[^/]+/", r"/metrics/\1/NAME/", path)
    path = re.sub(r"^/docs/[^/]+/", "/docs/NAME/", path)  # one page stands for all Markdown
    path = re.sub(r"^/metrics/reports/[^/]+/", "/metrics/reports/WEEK/", path)
    path = re.sub(r"^/git/.+", "/git/…", path) if path.count("/") > 4 else path
    # Filters, pages and windows of a list are the same page; a tab is a different one.
    if path.startswith("/catalog/NS/"):
        return f"{path}?tab={tab}"
    return path + (f"?tab={tab}" if "tab=" in parts.query else "")


UNLABELLED_JS = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter(el => !['hidden', 'submit', 'button', 'reset', 'image'].includes(el.type))
  .filter(el => el.offsetParent !== null || el.getClientRects().length)
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                && !el.getAttribute('aria-labelledby') && !el.getAttribute('title'))
  .map(el => el.outerHTML.slice(0, 160))"""

OVERFLOW_JS = """() => {
  const doc = document.documentElement;
  const over = doc.scrollWidth - doc.clientWidth;
  if (over <= 1) return null;
  const culprits = [...document.querySelectorAll('body *')]
    .filter(el => el.getBoundingClientRect().right > doc.clientWidth + 1)
    .filter(el => !el.closest('.table-wrap, pre, .prose table, .chart-scroll'))
    .slice(0, 3).map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
      + (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ')[0] : ''));
  return over + 'px (' + culprits.join(', ') + ')';
}"""

AXE_JS_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => v.id + ' (' + v.impact + '): ' + v.help + ' — '
      + v.nodes.slice(0, 2).map(n => n.target.join(' ')).join(' | '));
}"""


def _links(page: Page, origin: str) -> list[str]:
    hrefs: list[str] = page.eval_on_selector_all(
        "a[href]",
        "els => els.map(a => new URL(a.getAttribute('href'), location.href).href)"
        ".filter(h => h.startsWith(location.origin))",
    )
    return [h[len(origin) :].split("#")[0] for h in hrefs if h[len(origin) :].startswith("/")]


def _screenshot(page: Page, folder: str, persona: str, url: str, width: str) -> None:
    name = re.sub(r"[^\w.-]+", "_", url.strip("/") or "home")[:100]
    Path(folder).mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(Path(folder) / f"{persona}-{name}-{width}.png"), full_page=True)


def crawl(
    context: BrowserContext, base: str, persona: str, findings: Findings, seen_shapes: set[str]
) -> None:
    """Open every page shape not in `seen_shapes` (the persona's own navigation always)."""
    page = context.new_page()
    console: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            console.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: console.append(f"uncaught: {error}"))
    # Which resource a "Failed to load resource" console error was about.
    page.on(
        "response",
        lambda r: console.append(f"{r.status} for {r.url}") if r.status >= 400 else None,
    )
    page.set_viewport_size(LAPTOP)  # type: ignore[arg-type]
    page.goto(f"{base}/")
    assert page.locator(".mainnav a").count() >= 5, "no navigation"
    start = ["/", *_links(page, base)]  # the navigation, the user menu and the home page
    queue = [(url, 0) for url in dict.fromkeys(start)]
    # The home page differs per person (what waits for them); the rest is shared by shape.
    own_navigation = {"/"}
    seen_urls: set[str] = set()
    folder = os.environ.get("PAVED_SCREENSHOTS", "")
    while queue:
        url, depth = queue.pop(0)
        if url in seen_urls or SKIP.search(url):
            continue
        seen_urls.add(url)
        key = shape(url)
        fresh = key not in seen_shapes or url in own_navigation
        render = fresh and not DOWNLOAD.search(urlsplit(url).path)
        if render and len(findings.pages) >= MAX_PAGES:
            findings.add(f"{persona} {url}", f"not opened: more than {MAX_PAGES} page shapes")
        if not render or len(findings.pages) >= MAX_PAGES:
            answer = page.request.get(f"{base}{url}", max_redirects=5)
            if answer.status >= 400:
                findings.add(f"{persona} {url}", f"link answers {answer.status}")
            elif depth <= 1 and "text/html" in answer.headers.get("content-type", ""):
                # A page already checked in this shape may still link to pages only this
                # person sees (the template editor on /create/ for an admin).
                for link in HREF.findall(answer.text()):
                    if link not in seen_urls:
                        queue.append((html.unescape(link), depth + 1))
            continue
        seen_shapes.add(key)
        console.clear()
        page.set_viewport_size(LAPTOP)  # type: ignore[arg-type]
        response = page.goto(f"{base}{url}", wait_until="load")
        status = response.status if response else 0
        findings.pages.append(f"{persona} {url}")
        where = f"{persona} {url}"
        if status >= 400:
            findings.add(where, f"answers {status}")
            continue
        page.wait_for_timeout(100)  # htmx "load"/"revealed" requests and late console errors
        for field_html in page.evaluate(UNLABELLED_JS):
            findings.add(where, f"form field without a label: {field_html}")
        for violation in page.evaluate(AXE_JS_RUN):
            findings.add(where, f"axe: {violation}")
        over = page.evaluate(OVERFLOW_JS)
        if over:
            findings.add(where, f"scrolls sideways at 1280 px by {over}")
        if folder:
            _screenshot(page, folder, persona, url, "laptop")
        page.set_viewport_size(PHONE)  # type: ignore[arg-type]
        page.wait_for_timeout(50)
        over = page.evaluate(OVERFLOW_JS)
        if over:
            findings.add(where, f"scrolls sideways at 390 px by {over}")
        if folder:
            _screenshot(page, folder, persona, url, "phone")
        for message in console:
            findings.add(where, f"console error: {message}")
        for link in _links(page, base):
            if link not in seen_urls:
                queue.append((link, depth + 1))
    page.close()


@pytest.fixture
def demo(settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo organisation as `make run` loads it, plus a failed run and a production
    database request waiting for approval (pages a newcomer meets early)."""
    settings.PAVED_LOCAL_LOGIN = True
    settings.SOCIALACCOUNT_PROVIDERS = {}
    settings.PAVED_GIT_LOCAL_ROOT = tmp_path / "git"
    monkeypatch.setenv("PAVED_TEST_SIDE_EFFECTS", str(tmp_path))
    call_command("load_demo_data", verbosity=0)
    carol = Entity.objects.get(ref="user:default/carol").user
    ok = start_run(kind="demo", title="Demo: three steps", actor=carol, owner_ref="group:default/team-orders",
                   steps=[StepSpec("hello", "test:side-effect", inputs={"label": "hello"})])  # fmt: skip
    drive(ok)
    failed = start_run(
        kind="demo",
        title="Create orders-service-with-a-rather-long-name-for-a-phone",
        actor=carol,
        owner_ref="group:default/team-orders",
        steps=[StepSpec("register", "test:broken", inputs={})],
    )
    drive(failed)
    _pending_request(carol)


def _pending_request(carol: Any) -> None:
    from infra import services
    from infra.validation import RequestSpec

    spec = RequestSpec.from_document({**SEED_REQUEST, "component": "orders-service"})
    services.submit_request(spec=spec, actor=carol)


def _sign_in(browser: Browser, base: str, username: str) -> BrowserContext:
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username or e-mail").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    page.close()
    return context


def test_every_page_from_the_navigation(browser: Browser, live_server: Any, demo: None) -> None:
    """A developer first, then a platform admin: the admin opens their own navigation and the
    pages the developer could not reach (approvals, audit trail, admin, team leads' views)."""
    axe = _axe_source()
    findings = Findings()
    seen_shapes: set[str] = set()
    for persona in ("carol", "alice"):
        started, opened = time.monotonic(), len(findings.pages)
        context = _sign_in(browser, live_server.url, persona)
        context.add_init_script(script=axe)  # outside the page's CSP, as an extension would be
        crawl(context, live_server.url, persona, findings, seen_shapes)
        context.close()
        took = time.monotonic() - started
        print(f"\n{persona}: {len(findings.pages) - opened} pages opened in {took:.0f} s")
        print("\n".join(findings.pages[opened:]))
    assert len(findings.pages) >= 30, findings.pages  # the crawl really went somewhere
    assert any(p.startswith("alice /audit/") for p in findings.pages), findings.pages
    assert not findings.problems, "\n".join(findings.problems)
