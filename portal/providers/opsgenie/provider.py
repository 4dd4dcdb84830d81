"""Opsgenie as the on-call provider: the owning team, with a schedule it owns."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from portal.annotations import OPSGENIE_TEAM
from portal.providers.base import OnCallRef, PermanentProviderError
from portal.providers.opsgenie.client import OpsgenieClient
from portal.providers.opsgenie.errors import PROVIDER, Conflict

ANNOTATION = OPSGENIE_TEAM
WEB_URL = "https://app.opsgenie.com"


class OpsgenieOnCall:
    """Creates (or reuses, by name) the Opsgenie team named like the owning catalog group, and
    makes sure it owns a schedule: the one named by `escalation_policy`, else `<team>_schedule`
    (the name Opsgenie itself gives a new team's schedule). The catalog annotation is
    `opsgenie.com/team: <team>`, which the Backstage Opsgenie plugin also reads."""

    name = PROVIDER

    def __init__(
        self, *, api_key: str, api_url: str = "https://api.opsgenie.com", timeout: float = 10
    ) -> None:
        self.client = OpsgenieClient(credential=api_key, api_url=api_url, timeout=timeout)

    @classmethod
    def from_settings(cls) -> OpsgenieOnCall:
        from django.conf import settings

        return cls(
            api_key=settings.PAVED_OPSGENIE_API_KEY,
            api_url=settings.PAVED_OPSGENIE_API_URL,
            timeout=settings.PAVED_PROVIDER_TIMEOUT,
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
        if not team.strip():
            raise PermanentProviderError(
                f"no team name for {name!r}: set the step's owner to a catalog group",
                provider=PROVIDER,
            )
        changed = False
        found = self._get_team(team)
        if found is None:
            body = {"name": team, "description": description or f"Owns {name} (created by Paved)"}
            try:
                self.client.request(
                    "POST", "/v2/teams", doing=f"create Opsgenie team {team!r}", json=body
                )
                changed = True
            except Conflict as exc:
                # Created by someone else between our read and our write: reuse it — if it is
                # really there; otherwise the conflict is about something else.
                found = self._get_team(team)
                if found is None:
                    raise PermanentProviderError(
                        f"Opsgenie refused to create team {team!r}: {exc.message}. Nothing "
                        "named so is readable with this key; give the key access to that team "
                        "or choose another owner",
                        provider=PROVIDER,
                    ) from exc
            found = found or self._get_team(team)
            if found is None:
                raise PermanentProviderError(
                    f"Opsgenie accepted team {team!r} but does not return it", provider=PROVIDER
                )
        changed = self._ensure_schedule(team, escalation_policy or f"{team}_schedule") or changed
        team_id = str(found["id"])
        links = found.get("links") or {}
        url = str(links.get("web") or f"{WEB_URL}/teams/dashboard/{team_id}/main")
        ref = OnCallRef(
            provider=PROVIDER, id=team_id, url=url, annotation_key=ANNOTATION, annotation_value=team
        )
        return ref, changed

    def check_configuration(self) -> list[str]:
        problems: list[str] = []
        if not self.client.credential:
            problems.append(
                "PAVED_ONCALL_PROVIDER=opsgenie but PAVED_OPSGENIE_API_KEY (or "
                "PAVED_OPSGENIE_API_KEY_FILE) is not set"
            )
        if not self.client.api_url.startswith(("https://", "http://")):
            problems.append(f"PAVED_OPSGENIE_API_URL={self.client.api_url!r} is not an http(s) URL")
        return problems

    # --- helpers -----------------------------------------------------------------------------

    def _get_team(self, team: str) -> dict[str, Any] | None:
        body = self.client.request(
            "GET",
            f"/v2/teams/{quote(team, safe='')}",
            doing=f"look up Opsgenie team {team!r}",
            params={"identifierType": "name"},
            none_on=404,
        )
        return None if body is None else body.get("data")

    def _ensure_schedule(self, team: str, schedule: str) -> bool:
        """Make sure a schedule named `schedule` exists (owned by `team` when we create it)."""
        listed = self.client.request(
            "GET", "/v2/schedules", doing=f"look up Opsgenie schedule {schedule!r}"
        )
        for existing in listed.get("data") or []:
            if str(existing.get("name", "")).lower() == schedule.lower():
                return False
        try:
            self.client.request(
                "POST",
                "/v2/schedules",
                doing=f"create Opsgenie schedule {schedule!r}",
                json={
                    "name": schedule,
                    "description": f"On-call schedule of {team} (created by Paved)",
                    "timezone": "UTC",
                    "enabled": True,
                    "ownerTeam": {"name": team},
                },
            )
        except Conflict as exc:
            # Schedule names share a namespace with team names in Opsgenie (a schedule named
            # like a team answers 409 "There is already one Team with same name").
            raise PermanentProviderError(
                f"Opsgenie refused schedule {schedule!r}: {exc.message}. Schedule names may not "
                "repeat a team's or another schedule's name; pass escalationPolicy with another "
                "schedule name",
                provider=PROVIDER,
            ) from exc
        return True
