"""`manage.py providers check` and the deploy system check."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from portal.checks import check_providers_configured


def run_check() -> str:
    from io import StringIO

    out = StringIO()
    try:
        call_command("providers", "check", stdout=out)
    except CommandError as exc:
        return out.getvalue() + f"\nCommandError: {exc}"
    return out.getvalue()


def test_defaults_are_ready(git_root):
    out = run_check()
    assert "git      local" in out
    assert "deploy   gitops" in out
    assert "cluster  gitops" in out
    assert "FAILED" not in out
    assert check_providers_configured() == []


def test_remote_providers_against_loopback_servers(
    github_settings, argocd_settings, kube_clusters, settings
):
    settings.PAVED_GIT_PROVIDER = "github"
    settings.PAVED_DEPLOY_PROVIDER = "argocd"
    settings.PAVED_CLUSTER_PROVIDER = "kubernetes"
    out = run_check()
    assert out.count("OK") == 3, out


def test_bad_credentials_are_reported_without_the_secret(github_settings, settings):
    settings.PAVED_GIT_PROVIDER = "github"
    settings.PAVED_GITHUB_TOKEN = "ghp_not_valid_123"
    settings.PAVED_DEPLOY_PROVIDER = "argocd"
    settings.PAVED_ARGOCD_URL = ""
    settings.PAVED_ARGOCD_TOKEN = ""
    out = run_check()
    assert "github" in out
    assert "rejected the credentials" in out
    assert "PAVED_ARGOCD_URL and PAVED_ARGOCD_TOKEN not set" in out
    # The gitops cluster commits through the (broken) github host, so it is not ready either.
    assert "gitops: github: checking GitHub" in out
    assert "CommandError: 3 provider(s) not ready" in out
    assert "ghp_not_valid_123" not in out
    errors = check_providers_configured()
    assert [e.id for e in errors] == ["paved.E010"] * 3
    assert "ghp_not_valid_123" not in " ".join(e.msg for e in errors)


def test_unknown_provider_name(settings, git_root):
    settings.PAVED_CLUSTER_PROVIDER = "nomad"
    out = run_check()
    # Other tests may register extra providers, so check the sentence and the built-in names.
    assert "Unknown cluster provider 'nomad'; known providers: " in out
    known = out.split("known providers: ", 1)[1].splitlines()[0]
    assert {"gitops", "kubernetes"} <= {name.strip() for name in known.split(",")}


@pytest.mark.parametrize("argv", [["providers"], ["providers", "frobnicate"]])
def test_subcommand_required(argv):
    with pytest.raises(CommandError):
        call_command(*argv)


def test_the_gitlab_integration_is_checked_when_a_token_is_set(git_root, gitlab_settings, settings):
    out = run_check()
    assert "gitlab" in out
    assert "FAILED" not in out
    settings.PAVED_GITLAB_TOKEN = "glpat-not-valid-123"
    out = run_check()
    assert "GitLab rejected the token" in out
    assert "glpat-not-valid-123" not in out
