"""Check every configured provider: resolvable, configured, reachable, credentials accepted."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from portal.providers.base import ProviderError
from portal.providers.registry import CLUSTERS, DEPLOYERS, GIT_HOSTS


@dataclass
class ProviderReport:
    capability: str  # "git", "deploy", "cluster"
    setting: str  # the setting that selects it
    name: str
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_providers() -> list[ProviderReport]:
    """One report per capability; a provider serving two capabilities is checked once."""
    reports: list[ProviderReport] = []
    done: dict[tuple[str, str], list[str]] = {}
    for capability, setting, registry in (
        ("git", "PAVED_GIT_PROVIDER", GIT_HOSTS),
        ("deploy", "PAVED_DEPLOY_PROVIDER", DEPLOYERS),
        ("cluster", "PAVED_CLUSTER_PROVIDER", CLUSTERS),
    ):
        name = getattr(settings, setting)
        report = ProviderReport(capability, setting, name)
        key = (registry.capability if capability == "git" else "delivery", name)
        if key in done:
            report.problems = done[key]
        else:
            try:
                provider = registry.resolve(name)
                report.problems = list(provider.check_configuration())
            except (ImproperlyConfigured, ProviderError) as exc:
                report.problems = [str(exc)]
            except Exception as exc:  # a check must report, not crash
                report.problems = [f"{name}: unexpected error: {type(exc).__name__}: {exc}"]
            done[key] = report.problems
        reports.append(report)
    gitlab = _gitlab_integration(done)
    if gitlab is not None:
        reports.append(gitlab)
    return reports


def _gitlab_integration(done: dict[tuple[str, str], list[str]]) -> ProviderReport | None:
    """The GitLab integration the publish:gitlab actions use, checked when a token is set and
    it is not already the git host above."""
    if not settings.PAVED_GITLAB_TOKEN or ("git", "gitlab") in done:
        return None
    report = ProviderReport("git", "PAVED_GITLAB_TOKEN", "gitlab")
    try:
        report.problems = list(GIT_HOSTS.resolve("gitlab").check_configuration())
    except (ImproperlyConfigured, ProviderError) as exc:
        report.problems = [str(exc)]
    return report
