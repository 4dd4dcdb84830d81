"""The golden path, end to end, the way a newcomer walks it:

1. a new developer signs in through SSO (a real OpenID Connect provider on 127.0.0.1) and is
   linked to their catalog User, a member of team-orders;
2. creates a service from the Python template, correcting a validation error on the way;
3. watches the run finish live, then follows its outputs: the repository, the GitOps
   repository (Namespace and Argo CD Application) and the catalog entry owned by their team;
4. requests a production PostgreSQL, which waits for a platform admin (a second browser)
   to approve it; the claim is committed (the final state without a cluster), a pull request
   wires its connection secret into the service, and the cost shows on the component's page;
5. a developer of another team (a third browser) can neither see nor retry/cancel the run,
   nor see or change/delete the request: pages and direct POSTs answer 404, and nothing changes.

One real Celery worker does the work; web and worker share the git repositories.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import oidc_provider_mock
import pytest
import requests
from django.contrib.auth.models import User
from playwright.sync_api import Browser, BrowserContext, Page, expect

from catalog.models import Entity, ObservabilityLink, Relation, make_ref
from catalog.observability import install_default_links
from infra.models import Policy, RequestStatus, ResourceRequest
from infra.presets import install_presets
from portal.providers.gitops.provider import GitOpsProvider
from runs.models import Run
from scaffolder.demo import load_builtin_templates
from tests.conftest import make_group, make_member, wait_for
from tests.e2e.conftest import screenshot
from tests.portal.test_auth import settings_from_env

pytestmark = pytest.mark.django_db(transaction=True)

SLOW = 60_000  # ms: the worker's part (git, commits) on a busy 2-core machine


@pytest.fixture
def worker_env(worker_env: dict[str, str], settings: Any, live_server: Any) -> dict[str, str]:
    # Links the worker writes (repository pages, clone URLs) point at this live server.
    settings.PAVED_BASE_URL = live_server.url
    return {
        **worker_env,
        "PAVED_GIT_LOCAL_ROOT": str(settings.PAVED_GIT_LOCAL_ROOT),
        "PAVED_BASE_URL": live_server.url,
    }


@pytest.fixture
def oidc_server() -> Iterator[str]:
    with oidc_provider_mock.run_server_in_thread() as server:
        yield f"http://127.0.0.1:{server.server_port}"


@pytest.fixture
def sso(settings: Any, monkeypatch: pytest.MonkeyPatch, oidc_server: str) -> str:
    """The company SSO as an operator configures it (settings evaluated from the environment,
    so the Content-Security-Policy follows), plus local passwords for the admin."""
    built = settings_from_env(
        monkeypatch,
        PAVED_OIDC_SERVER_URL=oidc_server,
        PAVED_OIDC_CLIENT_ID="paved-portal",
        PAVED_OIDC_CLIENT_SECRET="paved-portal-secret",
        PAVED_OIDC_NAME="Acme SSO",
    )
    settings.SOCIALACCOUNT_PROVIDERS = built["SOCIALACCOUNT_PROVIDERS"]
    settings.SECURE_CSP = built["SECURE_CSP"]
    settings.PAVED_LOCAL_LOGIN = True
    return oidc_server


def _password_login(context: BrowserContext, base: str, username: str) -> Page:
    page = context.new_page()
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username or e-mail").fill(username)
    page.get_by_label("Password").fill("pw-for-tests-1")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name=f"Hello, {username}")).to_be_visible()
    return page


def _csrf(context: BrowserContext) -> str:
    return next(c["value"] for c in context.cookies() if c["name"] == "csrftoken")


def _post(context: BrowserContext, url: str, form: dict[str, str]) -> Any:
    return context.request.post(
        url, form={"csrfmiddlewaretoken": _csrf(context), **form}, max_redirects=0
    )


def test_golden_path_end_to_end(
    page: Page, browser: Browser, live_server: Any, settings: Any, sso: str, celery_worker: Any
) -> None:
    started = time.monotonic()
    base = live_server.url
    orders = make_group("team-orders")
    # The developer exists in the catalog (from the HR sync) but has never signed in.
    person = Entity.objects.create(
        kind="User", name="dana-lee", spec={"profile": {"email": "dana@example.com"}}
    )
    Relation.objects.create(source=person, type="memberOf", target_ref=orders.ref, target=orders)
    make_member("pat", make_group("platform-team"), is_staff=True, is_superuser=True)
    make_member("oscar", make_group("team-payments"))
    load_builtin_templates()
    # The seeded observability links, as migrated (a transactional test before may have flushed).
    install_default_links(ObservabilityLink)
    install_presets()  # transactional tests flush what the migration installed
    production = Policy.objects.get(environment="production", team_ref="")
    assert production.requires_approval
    name = f"gp-{uuid.uuid4().hex[:8]}"

    # --- 1. Sign in through SSO as a new developer -----------------------------------------
    requests.put(
        f"{sso}/users/dana",
        json={
            "email": "dana@example.com",
            "email_verified": True,
            "name": "Dana Lee",
            "preferred_username": "dana",
        },
        timeout=10,
    ).raise_for_status()
    page.goto(f"{base}/create/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.get_by_role("button", name="Sign in with Acme SSO").click()
    expect(page).to_have_url(re.compile(re.escape(sso)))
    page.locator("input[name=sub]").fill("dana")
    page.get_by_role("button", name="Authorize").click()
    expect(page.get_by_role("heading", name="Create something new")).to_be_visible()
    dana = User.objects.get(email="dana@example.com")
    person.refresh_from_db()
    assert person.user_id == dana.pk  # the first SSO sign-in linked the catalog User
    screenshot(page, "golden-1-signed-in")

    # --- 2. Create -> Python service -> wizard with a corrected error -> review -> Create ------
    page.locator("#template-default-python-service").get_by_role("link", name="Choose").click()
    field = page.locator("#id_name")
    field.press_sequentially("Orders API", delay=10)
    expect(page.locator("#field-name-errors")).to_contain_text("“orders-api” would do")
    field.fill("")
    field.press_sequentially(name, delay=10)
    expect(page.locator("#field-name-errors")).to_be_empty()
    # The owner starts as her own team (the only one she is in): nothing to pick.
    expect(page.locator("#id_owner")).to_have_value("group:default/team-orders")
    page.get_by_role("button", name="Next →").click()
    expect(page.get_by_role("heading", name="Repository and deployment")).to_be_visible()
    page.locator("#id_repoUrl__owner").fill("team-orders")
    page.locator("#id_repoUrl__repo").fill(name)
    page.get_by_role("button", name="Review").click()
    expect(page.get_by_role("heading", name="Review")).to_be_visible()
    expect(page.locator("#wizard")).to_contain_text(f"team-orders/{name} on ")
    screenshot(page, "golden-2-review")
    # The worker takes a break, so the page surely shows the run before any step has run (a
    # golden-path run takes well under a second); it comes back once the page is open.
    celery_worker.stop()
    page.get_by_role("button", name="Create").click()

    # --- 3. The run page updates live; then follow the outputs ------------------------------
    expect(page).to_have_url(re.compile(r"/runs/\d+/$"))
    run = Run.objects.get(pk=int(page.url.rstrip("/").rsplit("/", 1)[1]))
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads
    polls: list[str] = []
    page.on("request", lambda r: polls.append(r.url) if "/log?" in r.url else None)
    steps = page.locator("ol.steps > li[data-step]")
    expect(steps).to_have_count(8)  # three on-call steps; the template's choice picks one
    first_seen = steps.evaluate_all("els => els.map(e => e.dataset.status)")
    assert "succeeded" not in first_seen, first_seen
    # While it waits, the team may cancel it; another team's developer does not see it (stage 5).
    expect(page.get_by_role("button", name="Cancel run")).to_be_visible()
    other_context = browser.new_context()
    oscar = _password_login(other_context, base, "oscar")
    response = oscar.goto(page.url)
    assert response is not None
    assert response.status == 404
    expect(oscar.get_by_role("heading", name="Not found")).to_be_visible()
    denied = _post(other_context, f"{base}/runs/{run.pk}/cancel", {})
    assert denied.status == 404
    screenshot(oscar, "golden-5-other-team-queued-run")
    celery_worker.start()
    expect(page.locator("ol.steps > li[data-status=succeeded]")).to_have_count(6, timeout=SLOW)
    expect(page.locator("ol.steps > li[data-status=skipped]")).to_have_count(2)
    expect(page.get_by_test_id("run-status")).to_have_text("Succeeded")
    assert page.evaluate("window.__sameDocument") is True  # updated in place, no reload
    assert polls, "the page never polled for progress"
    expect(page.locator(f"#run-{run.pk}-poller")).to_have_attribute("data-active", "false")
    settled = len(polls)
    page.wait_for_timeout(2500)  # the poller ran every second while the run was active
    assert len(polls) == settled, "the poller kept polling after the run finished"
    screenshot(page, "golden-3-run-finished")

    page.get_by_role("link", name="Repository").click()
    expect(page.get_by_role("heading", name=f"team-orders/{name}")).to_be_visible()
    for generated in ("catalog-info.yaml", "main.py", "Dockerfile", "pyproject.toml"):
        expect(page.get_by_role("link", name=generated, exact=False).first).to_be_visible()
    screenshot(page, "golden-3-repository")
    page.go_back()

    gitops = GitOpsProvider()
    namespace = gitops.read_manifest("v1", "Namespace", "", name, environment="dev")
    assert namespace is not None
    assert namespace["metadata"]["name"] == name
    app = gitops.read_manifest(
        "argoproj.io/v1alpha1",
        "Application",
        settings.PAVED_ARGOCD_NAMESPACE,
        f"{name}-dev",
        environment="dev",
    )
    assert app is not None
    assert app["spec"]["destination"]["namespace"] == name

    page.get_by_role("link", name="Open in catalog").click()
    expect(page.get_by_role("heading", name=name).first).to_be_visible()
    component = Entity.objects.get(ref=make_ref("Component", "default", name))
    assert component.owner_ref == "group:default/team-orders"
    expect(page.locator("main")).to_contain_text("team-orders")
    # The observability links resolve from the annotations the skeleton wrote.
    links = page.locator("ul.observability-links")
    expect(links.get_by_role("link", name="Grafana dashboard")).to_have_attribute(
        "href", re.compile(rf"var-namespace={name}&var-service={name}$")
    )
    expect(links.get_by_role("link", name="Argo CD application")).to_have_attribute(
        "href", re.compile(rf"/applications/argocd/{name}-dev$")
    )
    # No on-call provider in this run: no PagerDuty service id, so that link says what it needs.
    expect(page.locator("main")).to_contain_text(
        "PagerDuty service: not available — needs annotation pagerduty.com/service-id."
    )
    screenshot(page, "golden-3-catalog")

    # --- 4. A production PostgreSQL, approved by a platform admin in a second browser -------
    page.goto(
        f"{base}/infra/new/?resource_class=postgresql&environment=production"
        f"&component={component.ref}"
    )
    page.locator("#id_component").select_option(component.ref)
    page.locator("#id_environment").select_option("production")
    page.fill("#id_name", f"{name}-db")
    page.fill("#id_namespace", name)
    page.fill("#id_param_storageGB", "20")
    page.locator("#id_param_tier").select_option("standard")
    page.locator("#id_param_region").select_option("eu-west-1")
    page.locator("#id_param_storageGB").dispatch_event("change")
    expect(page.get_by_test_id("cost-estimate")).to_contain_text("$144.60 / month")
    page.get_by_role("button", name="Submit request").click()
    expect(page).to_have_url(re.compile(r"/infra/requests/\d+/$"))
    expect(page.get_by_test_id("request-status")).to_have_text("Awaiting approval")
    expect(page.locator("#pending-approval")).to_contain_text("Waiting for approval")
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)  # not the requester's
    req = ResourceRequest.objects.get(component=component)
    request_url = page.url
    screenshot(page, "golden-4-awaiting-approval")

    admin_context = browser.new_context()
    admin = _password_login(admin_context, base, "pat")
    admin.goto(f"{base}/infra/approvals/")
    expect(admin.locator("main")).to_contain_text(f"{name}/{name}-db")
    admin.goto(request_url)
    admin.get_by_role("button", name="Approve").click()
    expect(admin.get_by_test_id("request-status")).not_to_have_text("Awaiting approval")
    screenshot(admin, "golden-4-admin-approved")

    def committed() -> bool:
        req.refresh_from_db()
        runs = [(r.title, r.status, r.error) for r in Run.objects.filter(subject=req.subject)]
        assert req.status not in (RequestStatus.FAILED, RequestStatus.REJECTED), (req, runs)
        return req.status == RequestStatus.COMMITTED

    wait_for(committed, timeout=SLOW / 1000)
    page.reload()
    expect(page.get_by_test_id("request-status")).to_have_text(RequestStatus.COMMITTED.label)
    expect(page.get_by_role("button", name="Resize")).to_be_visible()  # the team may change it
    # Committing is the final state here, and the service's repository got the pull request
    # that wires the connection secret in: a link, no YAML to copy.
    expect(page.get_by_test_id("final-state")).to_be_visible()
    expect(page.get_by_test_id("connection-yaml")).to_have_count(0)
    wiring = page.get_by_test_id("wiring-pr").get_by_role("link")
    expect(wiring).to_have_text(f"pull request #1 on team-orders/{name}")
    screenshot(page, "golden-4-committed-with-pull-request")
    wiring.click()
    files = page.get_by_test_id("pull-files")
    for changed in (f"deploy/k8s/{name}-db-connection.externalsecret.yaml",
                    "deploy/k8s/kustomization.yaml", "deploy/k8s/rollout.yaml"):  # fmt: skip
        expect(files).to_contain_text(changed)
    page.go_back()
    claim = gitops.read_manifest(
        "database.platform.myorg.io/v1alpha1",
        "PostgreSQLInstance",
        name,
        f"{name}-db",
        environment="production",
    )
    assert claim is not None
    assert claim["spec"]["parameters"] == {
        "storageGB": 20,
        "tier": "standard",
        "region": "eu-west-1",
        "backupEnabled": True,
    }
    page.get_by_test_id("request-component").click()  # back to the component, then Costs
    page.get_by_role("link", name="Costs", exact=True).click()
    expect(page.get_by_test_id("component-total")).to_have_text("$144.60")
    expect(page.locator("#component-costs")).to_contain_text("production")
    screenshot(page, "golden-4-costs")

    # --- 5. Another team's developer sees neither the runs nor the request -----------------
    approval_run = Run.objects.filter(subject=req.subject).order_by("created_at").first()
    assert approval_run is not None
    for target in (run, approval_run):
        response = oscar.goto(f"{base}/runs/{target.pk}/")
        assert response is not None
        assert response.status == 404
        expect(oscar.get_by_test_id("run-status")).to_have_count(0)
        for action in ("retry", "cancel"):
            denied = _post(other_context, f"{base}/runs/{target.pk}/{action}", {})
            assert denied.status == 404, (action, denied.status)
    response = oscar.goto(request_url)
    assert response is not None
    assert response.status == 404
    expect(oscar.get_by_test_id("request-status")).to_have_count(0)
    for action, form in (
        ("resize", {"size": "40"}),
        ("tier", {"tier": "large"}),
        ("delete", {"confirm": f"{name}-db"}),
        ("cancel", {}),
    ):
        denied = _post(other_context, f"{request_url}{action}", form)
        assert denied.status == 404, (action, denied.status)
    screenshot(oscar, "golden-5-other-team")
    req.refresh_from_db()
    assert req.status == RequestStatus.COMMITTED
    assert req.parameters["storageGB"] == 20
    assert Run.objects.filter(subject=req.subject).count() == 2  # approval + apply, nothing else
    admin_context.close()
    other_context.close()
    assert time.monotonic() - started < 90
