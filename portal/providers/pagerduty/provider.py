"""PagerDuty as the on-call provider: one service per Paved component, on its team's policy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from portal.annotations import PAGERDUTY_SERVICE_ID
from portal.providers.base import OnCallRef, PermanentProviderError
from portal.providers.pagerduty.client import NO_ABILITY, PagerDutyClient
from portal.providers.pagerduty.errors import PROVIDER

ANNOTATION = PAGERDUTY_SERVICE_ID


class PagerDutyOnCall:
    """Creates (or reuses, by exact name) a PagerDuty service and attaches the owning team's
    escalation policy: the explicit one, else PAVED_PAGERDUTY_ESCALATION_POLICIES[team], else
    the policy of the PagerDuty team with the same name, else a policy named like the team."""

    name = PROVIDER

    def __init__(
        self,
        *,
        token: str,
        api_url: str = "https://api.pagerduty.com",
        timeout: float = 10,
        escalation_policies: Mapping[str, str] | None = None,
    ) -> None:
        self.client = PagerDutyClient(credential=token, api_url=api_url, timeout=timeout)
        self.escalation_policies = dict(escalation_policies or {})

    @classmethod
    def from_settings(cls) -> PagerDutyOnCall:
        from django.conf import settings

        return cls(
            token=settings.PAVED_PAGERDUTY_TOKEN,
            api_url=settings.PAVED_PAGERDUTY_API_URL,
            timeout=settings.PAVED_PROVIDER_TIMEOUT,
            escalation_policies=settings.PAVED_PAGERDUTY_ESCALATION_POLICIES,
        )

    # --- OnCall ------------------------------------------------------------------------------

    def ensure_service(
        self,
        name: str,
        *,
        team: str,
        description: str = "",
        escalation_policy: str | None = None,
    ) -> tuple[OnCallRef, bool]:
        existing = self._find_service(name)
        if existing is not None:
            return self._ref(existing), False
        policy_id = self._escalation_policy_id(team, escalation_policy)
        body = {
            "service": {
                "type": "service",
                "name": name,
                "description": description or f"{name} (owned by {team}; created by Paved)",
                "escalation_policy": {"id": policy_id, "type": "escalation_policy_reference"},
            }
        }
        try:
            created = self.client.request(
                "POST", "/services", doing=f"create PagerDuty service {name!r}", json=body
            )
        except PermanentProviderError as exc:
            # Another run created it between our search and our POST: reuse it.
            if "already been taken" in exc.message:
                raced = self._find_service(name)
                if raced is not None:
                    return self._ref(raced), False
            raise
        return self._ref(created["service"]), True

    def check_configuration(self) -> list[str]:
        problems: list[str] = []
        if not self.client.credential:
            problems.append(
                "PAVED_ONCALL_PROVIDER=pagerduty but PAVED_PAGERDUTY_TOKEN (or "
                "PAVED_PAGERDUTY_TOKEN_FILE) is not set"
            )
        if not self.client.api_url.startswith(("https://", "http://")):
            problems.append(
                f"PAVED_PAGERDUTY_API_URL={self.client.api_url!r} is not an http(s) URL"
            )
        return problems

    # --- helpers -----------------------------------------------------------------------------

    def _find_service(self, name: str) -> dict[str, Any] | None:
        # `query` is a substring match; service names are unique (case-insensitively).
        services = self.client.list_all(
            "/services", "services", doing=f"look up PagerDuty service {name!r}",
            params={"query": name},
        ) or []  # fmt: skip
        for service in services:
            if str(service.get("name", "")).lower() == name.lower():
                return service
        return None

    def _escalation_policy_id(self, team: str, explicit: str | None) -> str:
        if explicit:
            return explicit
        if team in self.escalation_policies:
            return self.escalation_policies[team]
        doing = f"find the escalation policy of team {team!r}"
        # Accounts without the teams ability answer /teams with 402 (documented): no PagerDuty
        # team can exist there, so go on to the policy named like the team.
        teams = self.client.list_all(
            "/teams", "teams", doing=doing, params={"query": team}, none_on=NO_ABILITY
        )
        no_teams = teams is None
        pd_team = next(
            (t for t in teams or [] if str(t.get("name", "")).lower() == team.lower()), None
        )
        if pd_team is not None:
            policies = self.client.list_all(
                "/escalation_policies", "escalation_policies", doing=doing,
                params={"team_ids[]": pd_team["id"]},
            )  # fmt: skip
            if policies:
                named = [p for p in policies if str(p.get("name", "")).lower() == team.lower()]
                return str((named or sorted(policies, key=lambda p: str(p.get("name"))))[0]["id"])
        policies = self.client.list_all(
            "/escalation_policies", "escalation_policies", doing=doing, params={"query": team}
        ) or []  # fmt: skip
        for policy in policies:
            if str(policy.get("name", "")).lower() == team.lower():
                return str(policy["id"])
        create = (
            "create an escalation policy"
            if no_teams  # the plan has no teams: a team is not an option
            else "create a PagerDuty team or escalation policy"
        )
        plan = " (this PagerDuty account has no teams ability)" if no_teams else ""
        raise PermanentProviderError(
            f"no escalation policy found for team {team!r}{plan}: {create} "
            f"named {team!r}, map it in PAVED_PAGERDUTY_ESCALATION_POLICIES "
            f'(e.g. {{"{team}": "PABC123"}}), or pass escalationPolicy to the step',
            provider=PROVIDER,
        )

    def _ref(self, service: Mapping[str, Any]) -> OnCallRef:
        service_id = str(service["id"])
        return OnCallRef(
            provider=PROVIDER,
            id=service_id,
            url=str(service.get("html_url") or ""),
            annotation_key=ANNOTATION,
            annotation_value=service_id,
        )
