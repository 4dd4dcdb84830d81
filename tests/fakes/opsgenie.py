"""A loopback Opsgenie speaking the few REST API v2 endpoints Paved's on-call provider uses.

Shapes mirror https://docs.opsgenie.com/docs/team-api and /docs/schedule-api (API v2):
- GET  /v2/teams/{name}?identifierType=name -> {"data": {"id", "name", "description", "members"},
  "took", "requestId"} (Opsgenie's API description lists no `links`, so neither does the fake);
  unknown -> 404 {"message": "No team exists with name [x]", ...}
- POST /v2/teams {"name", "description"}    -> 201 {"data": {"id", "name"}, "took", "requestId"};
  a taken name -> 409 {"message": "There is already one Team with same name", ...} (the text
  Opsgenie really sends; a schedule named like a team gets it too)
- GET  /v2/schedules                        -> {"data": [{"id", "name", "ownerTeam": {...}, ...}],
  "expandable": ["rotation"], ...}
- POST /v2/schedules {"name", "ownerTeam", ...} -> 201 {"data": {"id", "name", "enabled"}, ...}
- a bad key answers 401 {"message": "Could not authenticate", "took", "requestId"}
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import unquote

from tests.fakes.json_server import Call, JsonServer, Reply


def _envelope(**fields: Any) -> dict[str, Any]:
    return {**fields, "took": 0.01, "requestId": str(uuid.uuid4())}


class FakeOpsgenie(JsonServer):
    contract = "opsgenie"  # tests/contracts/specs/opsgenie.json

    def __init__(self, *, api_key: str = "og-test-key") -> None:
        super().__init__()
        self.api_key = api_key
        self.teams: list[dict[str, Any]] = []
        self.schedules: list[dict[str, Any]] = []

    def add_team(self, name: str) -> dict[str, Any]:
        team_id = str(uuid.uuid4())
        team = {
            "id": team_id,
            "name": name,
            "description": "",
            "members": [],
        }
        self.teams.append(team)
        return team

    def add_schedule(self, name: str, owner: dict[str, Any] | None = None) -> dict[str, Any]:
        schedule = {
            "id": str(uuid.uuid4()),
            "name": name,
            "description": "",
            "timezone": "UTC",
            "enabled": True,
            "ownerTeam": {"id": owner["id"], "name": owner["name"]} if owner else None,
            "rotations": [],
        }
        self.schedules.append(schedule)
        return schedule

    def handle(self, call: Call) -> Reply:
        if call.headers.get("authorization") != f"GenieKey {self.api_key}":
            return Reply(401, _envelope(message="Could not authenticate"))
        if call.method == "GET" and call.path.startswith("/v2/teams/"):
            name = unquote(call.path.removeprefix("/v2/teams/"))
            if call.arg("identifierType", "id") == "name":
                team = next((t for t in self.teams if t["name"] == name), None)
            else:
                team = next((t for t in self.teams if t["id"] == name), None)
            if team is None:
                return Reply(404, _envelope(message=f"No team exists with name [{name}]"))
            return Reply(200, _envelope(data=team))
        if call.method == "POST" and call.path == "/v2/teams":
            body = call.body or {}
            name = str(body.get("name") or "")
            if not name:
                return Reply(422, _envelope(message="Team name is required"))
            if any(t["name"].lower() == name.lower() for t in self.teams):
                # What Opsgenie really answers (terraform-provider-opsgenie issue #353)
                return Reply(409, _envelope(message="There is already one Team with same name"))
            team = self.add_team(name)
            team["description"] = body.get("description") or ""
            return Reply(201, _envelope(data={"id": team["id"], "name": name}))
        if call.method == "GET" and call.path == "/v2/schedules":
            return Reply(200, _envelope(data=self.schedules, expandable=["rotation"]))
        if call.method == "POST" and call.path == "/v2/schedules":
            body = call.body or {}
            name = str(body.get("name") or "")
            if any(s["name"] == name for s in self.schedules):
                return Reply(409, _envelope(message=f"Schedule with name [{name}] already exists"))
            if any(t["name"].lower() == name.lower() for t in self.teams):
                return Reply(409, _envelope(message="There is already one Team with same name"))
            owner_name = (body.get("ownerTeam") or {}).get("name")
            owner = next((t for t in self.teams if t["name"] == owner_name), None)
            if owner_name and owner is None:
                return Reply(422, _envelope(message=f"Team [{owner_name}] does not exist"))
            schedule = self.add_schedule(name, owner)
            return Reply(201, _envelope(data={"id": schedule["id"], "name": name, "enabled": True}))
        return Reply(404, _envelope(message="Not found"))
