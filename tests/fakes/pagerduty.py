"""A loopback PagerDuty speaking the few REST API v2 endpoints Paved's on-call provider uses.

Shapes mirror https://developer.pagerduty.com/api-reference/ (REST API v2):
- GET  /services?query=&limit=&offset=            -> {"services": [...], "limit", "offset", "more", "total"}
- POST /services {"service": {...}}               -> 201 {"service": {...}}; a taken name answers
  400 {"error": {"message": "Invalid Input Provided", "code": 2001, "errors": ["Name has already been taken"]}}
- GET  /teams?query=                              -> {"teams": [...]} (classic pagination)
- GET  /escalation_policies?query=&team_ids[]=    -> {"escalation_policies": [...]}
- a bad token answers 401 {"error": {"message": "Unauthorized", "code": 2006}}
- an account without the teams ability answers /teams with 402 (documented "Payment Required")
"""

from __future__ import annotations

import itertools
from typing import Any

from tests.fakes.json_server import Call, JsonServer, Reply

_ids = itertools.count(1)


def _pd_id(prefix: str) -> str:
    return f"{prefix}{next(_ids):06d}"  # PagerDuty ids look like "PABC123"


class FakePagerDuty(JsonServer):
    contract = "pagerduty"  # tests/contracts/specs/pagerduty.json

    def __init__(
        self,
        *,
        token: str = "pd-test-token",  # noqa: S107
        subdomain: str = "acme",
    ) -> None:
        super().__init__()
        self.token = token
        self.web = f"https://{subdomain}.pagerduty.com"
        self.services: list[dict[str, Any]] = []
        # The account's abilities (GET /abilities); without "teams", /teams answers 402 as
        # PagerDuty documents for plans without that feature.
        self.abilities = {"teams", "teams_ability"}
        self.teams: list[dict[str, Any]] = []
        self.policies: list[dict[str, Any]] = []

    # --- seeding -------------------------------------------------------------------------------

    def add_team(self, name: str) -> dict[str, Any]:
        team_id = _pd_id("PT")
        team = {
            "id": team_id,
            "type": "team",
            "summary": name,
            "name": name,
            "description": "",
            "self": f"{self.url}/teams/{team_id}",
            "html_url": f"{self.web}/teams/{team_id}",
        }
        self.teams.append(team)
        return team

    def add_policy(self, name: str, *, team: dict[str, Any] | None = None) -> dict[str, Any]:
        policy_id = _pd_id("PE")
        policy = {
            "id": policy_id,
            "type": "escalation_policy",
            "summary": name,
            "name": name,
            "num_loops": 0,
            "escalation_rules": [],
            "services": [],
            "teams": [{"id": team["id"], "type": "team_reference"}] if team else [],
            "self": f"{self.url}/escalation_policies/{policy_id}",
            "html_url": f"{self.web}/escalation_policies/{policy_id}",
        }
        self.policies.append(policy)
        return policy

    # --- API -----------------------------------------------------------------------------------

    def handle(self, call: Call) -> Reply:
        if call.headers.get("authorization") != f"Token token={self.token}":
            return Reply(401, {"error": {"message": "Unauthorized", "code": 2006}})
        if call.method == "GET" and call.path == "/services":
            return self._page(call, "services", self._matching(self.services, call))
        if call.method == "POST" and call.path == "/services":
            return self._create_service(call)
        if call.method == "GET" and call.path == "/teams":
            if "teams" not in self.abilities:
                return Reply(
                    402,
                    {
                        "error": {
                            "message": "Account does not have the abilities to perform the action"
                        }
                    },
                )
            return self._page(call, "teams", self._matching(self.teams, call))
        if call.method == "GET" and call.path == "/escalation_policies":
            policies = self._matching(self.policies, call)
            team_ids = set(call.query.get("team_ids[]", []))
            if team_ids:
                policies = [p for p in policies if team_ids & {t["id"] for t in p["teams"]}]
            return self._page(call, "escalation_policies", policies)
        return Reply(404, {"error": {"message": "Not Found", "code": 2100}})

    @staticmethod
    def _matching(items: list[dict[str, Any]], call: Call) -> list[dict[str, Any]]:
        query = call.arg("query").lower()  # substring match, as PagerDuty's `query` filter
        return [item for item in items if query in item["name"].lower()]

    @staticmethod
    def _page(call: Call, key: str, items: list[dict[str, Any]]) -> Reply:
        limit = int(call.arg("limit", "25"))
        offset = int(call.arg("offset", "0"))
        page = items[offset : offset + limit]
        more = offset + limit < len(items)
        return Reply(
            200, {key: page, "limit": limit, "offset": offset, "more": more, "total": None}
        )

    def _create_service(self, call: Call) -> Reply:
        body = (call.body or {}).get("service") or {}
        problems = []
        name = str(body.get("name") or "")
        if not name:
            problems.append("Name cannot be empty.")
        elif any(s["name"].lower() == name.lower() for s in self.services):
            problems.append("Name has already been taken")
        policy_ref = body.get("escalation_policy") or {}
        policy = next((p for p in self.policies if p["id"] == policy_ref.get("id")), None)
        if policy is None:
            problems.append("Escalation policy must be a valid escalation policy")
        if problems:
            return Reply(
                400,
                {"error": {"message": "Invalid Input Provided", "code": 2001, "errors": problems}},
            )
        assert policy is not None
        service_id = _pd_id("PS")
        service = {
            "id": service_id,
            "type": "service",
            "summary": name,
            "name": name,
            "description": body.get("description"),
            "status": "active",
            "escalation_policy": {
                "id": policy["id"],
                "type": "escalation_policy_reference",
                "summary": policy["name"],
            },
            "teams": [{"id": t["id"], "type": "team_reference"} for t in policy["teams"]],
            "self": f"{self.url}/services/{service_id}",
            "html_url": f"{self.web}/service-directory/{service_id}",
        }
        self.services.append(service)
        return Reply(201, {"service": service})
