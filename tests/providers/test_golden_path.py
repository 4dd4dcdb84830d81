"""The providers driven by the run engine: defaults on this machine, then the remote providers
against the loopback servers. Transient errors are retried, permanent ones fail the step."""

from __future__ import annotations

import pytest

import tests.providers.steps  # noqa: F401  (registers test:provision-service)
from portal.providers.gitops import GitOpsProvider
from portal.providers.local_git import LocalGitHost
from runs.models import Run, RunStatus, Step, StepStatus
from runs.runner import StepSpec, advance_run, execute_step, start_run

pytestmark = pytest.mark.django_db


def drive(run: Run) -> Run:
    for _ in range(10):
        advance_run(run.pk)
        run.refresh_from_db()
        if run.is_finished:
            return run
        step = run.steps.filter(status=StepStatus.PENDING).order_by("position").first()
        assert step is not None
        Step.objects.filter(pk=step.pk).update(not_before=None)
        execute_step(step.pk)
    raise AssertionError("run did not finish")


def provision(owner="acme", service="orders-api") -> Run:
    return drive(
        start_run(
            kind="demo",
            title="provision",
            actor=None,
            steps=[
                StepSpec(
                    "provision",
                    "test:provision-service",
                    inputs={"owner": owner, "service": service},
                )
            ],
        )
    )


def test_defaults_create_repo_push_tree_and_commit_gitops(git_root):
    run = provision()
    assert run.status == RunStatus.SUCCEEDED
    host = LocalGitHost()
    repo = host.get_repository("acme", "orders-api")
    assert host.list_files(repo) == ["README.md", "deploy/dev/kustomization.yaml"]
    gitops = GitOpsProvider()
    app = gitops.read_manifest(
        "argoproj.io/v1alpha1", "Application", "argocd", "orders-api-dev", environment="dev"
    )
    assert app["spec"]["source"]["repoURL"] == "http://paved.test/git/acme/orders-api.git"
    assert gitops.read_status("v1", "Namespace", "", "orders-api-dev", environment="dev").exists
    # Running the same step again changes nothing anywhere.
    commits = host.commit_count(gitops.repository())
    assert provision().status == RunStatus.SUCCEEDED
    assert host.commit_count(gitops.repository()) == commits
    assert host.commit_count(repo) == 1


def test_remote_providers_on_loopback_servers(
    github_settings, argocd_settings, kube_clusters, fake_github, fake_argocd, settings
):
    settings.PAVED_GIT_PROVIDER = "github"
    settings.PAVED_CLUSTER_PROVIDER = "kubernetes"
    settings.PAVED_DEPLOY_PROVIDER = "argocd"
    run = provision()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert (
        fake_github.files("acme/orders-api")["deploy/dev/kustomization.yaml"] == b"resources: []\n"
    )
    assert (
        fake_argocd.apps["orders-api-dev"]["spec"]["destination"]["namespace"] == "orders-api-dev"
    )
    km = kube_clusters["dev"]
    import kmock

    ns = km.call(
        lambda: km.handler.objects[kmock.resource("v1/namespaces"), None, "orders-api-dev"].raw
    )
    assert ns["metadata"]["labels"]["paved.dev/service"] == "orders-api"


def test_rate_limit_is_retried_and_taken_name_fails_with_message(
    github_settings, fake_github, settings, git_root
):
    settings.PAVED_GIT_PROVIDER = "github"
    settings.PAVED_GITOPS_REPO = "acme/platform-gitops"
    fake_github.fail_next(429, {"message": "Too Many Requests"}, {"Retry-After": "0"})
    run = provision()
    assert run.status == RunStatus.SUCCEEDED, run.steps.get().error
    assert run.steps.get().attempt == 2

    fake_github.add_foreign_repo("acme", "billing")
    failed = provision(service="billing")
    assert failed.status == RunStatus.FAILED
    step = failed.steps.get()
    assert "acme/billing already exists and was not created by Paved" in step.error
    assert step.attempt == 1  # permanent: not retried
