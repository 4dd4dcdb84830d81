"""The argocd deployer against our Argo CD API fake (tests/fakes/argocd.py)."""

from __future__ import annotations

import pytest

from portal.providers.argocd import ArgoCDDeployer
from portal.providers.base import (
    ApplicationSpec,
    PermanentProviderError,
    ProviderNotConfigured,
    TransientProviderError,
)

APP = ApplicationSpec(
    name="orders-api-dev",
    repo_url="https://github.com/acme/orders-api.git",
    path="deploy/dev",
    destination_namespace="orders-dev",
    labels={"paved.dev/service": "orders-api"},
)


def test_upsert_sends_the_application_with_bearer_token(argocd_settings, fake_argocd):
    deployer = ArgoCDDeployer()
    assert deployer.ensure_application(APP)
    posted = [r for r in fake_argocd.requests if r.method == "POST"]
    assert len(posted) == 1
    assert posted[0].query == {"upsert": "true", "validate": "true"}
    assert posted[0].headers["authorization"] == "Bearer argocd-test-token"
    app = fake_argocd.apps["orders-api-dev"]
    assert app["metadata"]["namespace"] == "argocd"
    assert app["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    assert app["spec"]["syncPolicy"]["syncOptions"] == [
        "CreateNamespace=true",
        "RespectIgnoreDifferences=true",
    ]
    assert app["spec"]["ignoreDifferences"][0]["kind"] == "HTTPRoute"
    assert not deployer.ensure_application(APP)
    assert len([r for r in fake_argocd.requests if r.method == "POST"]) == 1


@pytest.mark.parametrize(
    ("sync", "health"),
    [("Synced", "Healthy"), ("OutOfSync", "Progressing"), ("Synced", "Degraded")],
)
def test_status_read_back(argocd_settings, fake_argocd, sync, health):
    deployer = ArgoCDDeployer()
    deployer.ensure_application(APP)
    fake_argocd.set_status("orders-api-dev", sync=sync, health=health, revision="abc123")
    status = deployer.application_status("orders-api-dev")
    assert (status.sync, status.health, status.revision) == (sync, health, "abc123")


def test_failed_operation_message(argocd_settings, fake_argocd):
    deployer = ArgoCDDeployer()
    deployer.ensure_application(APP)
    fake_argocd.set_status(
        "orders-api-dev",
        sync="OutOfSync",
        health="Degraded",
        message="one or more objects failed to apply",
    )
    assert deployer.application_status("orders-api-dev").message == (
        "one or more objects failed to apply"
    )


def test_errors(argocd_settings, fake_argocd):
    fake_argocd.fail_next(503, {"error": "unavailable", "code": 14, "message": "unavailable"})
    with pytest.raises(TransientProviderError):
        ArgoCDDeployer().application_status("orders-api-dev")
    fake_argocd.fail_next(
        400, {"error": "bad", "code": 3, "message": "application spec is invalid"}
    )
    with pytest.raises(PermanentProviderError, match="application spec is invalid"):
        ArgoCDDeployer().ensure_application(APP)
    argocd_settings.PAVED_ARGOCD_TOKEN = "wrong-token"
    with pytest.raises(ProviderNotConfigured, match="rejected the token") as info:
        ArgoCDDeployer().ensure_application(APP)
    assert "wrong-token" not in str(info.value)
    assert ArgoCDDeployer().check_configuration() == [
        "argocd: Argo CD does not accept PAVED_ARGOCD_TOKEN (not logged in)"
    ]


def test_not_configured(settings):
    settings.PAVED_ARGOCD_URL = ""
    settings.PAVED_ARGOCD_TOKEN = ""
    with pytest.raises(ProviderNotConfigured, match="PAVED_ARGOCD_URL and PAVED_ARGOCD_TOKEN"):
        ArgoCDDeployer().application_status("x")


# --- what a real Argo CD answers that the first fake did not ---------------------------------


def test_a_missing_application_answered_403_without_a_project_reads_as_missing(
    argocd_settings, fake_argocd
):
    status = ArgoCDDeployer().application_status("nowhere")
    assert (status.sync, status.health) == ("Unknown", "Missing")
    assert "permission denied" in status.message
    [get] = [r for r in fake_argocd.requests if r.method == "GET"]
    assert "project" not in get.query  # so Argo CD really did answer 403
    assert fake_argocd.exchanges[-1][1].status == 403


def test_ensure_reads_with_the_project_so_a_missing_app_is_a_404(argocd_settings, fake_argocd):
    assert ArgoCDDeployer().ensure_application(APP)
    get = next(r for r in fake_argocd.requests if r.method == "GET")
    assert get.query["project"] == "default"


def test_validation_refuses_an_unregistered_repository_with_a_next_step(
    argocd_settings, fake_argocd
):
    fake_argocd.repositories = {"https://github.com/acme/other.git"}
    with pytest.raises(PermanentProviderError) as info:
        ArgoCDDeployer().ensure_application(APP)
    message = str(info.value)
    assert "repository not accessible" in message
    assert "Register the repository in Argo CD" in message
    assert "orders-api-dev" not in fake_argocd.apps


def test_validation_refuses_a_destination_the_project_does_not_allow(argocd_settings, fake_argocd):
    fake_argocd.destinations = {("https://kubernetes.default.svc", "payments-dev")}
    with pytest.raises(
        PermanentProviderError, match="do not match any of the allowed destinations"
    ):
        ArgoCDDeployer().ensure_application(APP)


def test_rbac_without_update_fails_the_upsert_of_a_changed_app_and_names_the_permissions(
    argocd_settings, fake_argocd
):
    deployer = ArgoCDDeployer()
    assert deployer.ensure_application(APP)
    fake_argocd.permissions = {"get", "create"}
    assert not deployer.ensure_application(APP)  # unchanged: no update needed
    moved = ApplicationSpec(**{**APP.__dict__, "path": "deploy/dev2"})
    with pytest.raises(ProviderNotConfigured) as info:
        deployer.ensure_application(moved)
    message = str(info.value)
    assert "permission denied: applications, update, default/orders-api-dev" in message
    assert "applications get, create and update" in message
    fake_argocd.permissions = set()
    with pytest.raises(ProviderNotConfigured, match="HTTP 403"):
        deployer.ensure_application(moved)


def test_upsert_keeps_labels_someone_else_added(argocd_settings, fake_argocd):
    deployer = ArgoCDDeployer()
    deployer.ensure_application(APP)
    fake_argocd.apps["orders-api-dev"]["metadata"]["labels"]["team"] = "orders"
    moved = ApplicationSpec(**{**APP.__dict__, "path": "deploy/dev2"})
    assert deployer.ensure_application(moved)
    labels = fake_argocd.apps["orders-api-dev"]["metadata"]["labels"]
    assert labels["team"] == "orders"
    assert labels["paved.dev/service"] == "orders-api"
    assert not deployer.ensure_application(moved)  # extra labels are not a difference
