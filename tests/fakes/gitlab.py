"""A stateful GitLab REST v4 stand-in for python-gitlab, served on 127.0.0.1.

Only the endpoints Paved's gitlab provider uses, under /api/v4 as on a real instance. Each
handler names the GitLab endpoint it mirrors (docs.gitlab.com/api) and answers with its status
codes and the fields python-gitlab reads. A push is what the provider sends: one Commits API
call with create/update/delete actions, applied to the branch as GitLab does (a create of a file
that exists, an update of one that does not, a commit to a missing branch of a non-empty
project: 400). Tree listings give real git blob SHAs. Projects are addressed by numeric id or
by URL-encoded path, as GitLab allows. Not emulated: pagination headers, permissions per user.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
from typing import Any
from urllib.parse import unquote

from tests.fakes.http import FakeServer, Request, Response

API = "/api/v4"
SEG = r"([^/]+)"


def git_blob_sha(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()  # noqa: S324


class FakeGitLab(FakeServer):
    def __init__(self, *, token: str = "glpat-test", web: str = "https://gitlab.example") -> None:  # noqa: S107
        super().__init__()
        self.tokens = {token}
        self.web = web
        self.ids = itertools.count(100)
        self.groups: dict[str, int] = {}
        self.projects: dict[int, dict[str, Any]] = {}
        for group in ("acme", "team-orders", "team-payments"):
            self.add_group(group)
        r = self.route
        r("GET", f"{API}/user", self.get_user)
        r("GET", f"{API}/namespaces/{SEG}", self.get_namespace)
        r("POST", f"{API}/projects", self.create_project)
        r("GET", f"{API}/projects/{SEG}", self.get_project)
        r("DELETE", f"{API}/projects/{SEG}", self.delete_project)
        r("POST", f"{API}/projects/{SEG}/archive", self.archive_project)
        r("GET", f"{API}/projects/{SEG}/repository/tree", self.get_tree)
        r("GET", f"{API}/projects/{SEG}/repository/files/{SEG}", self.get_file)
        r("POST", f"{API}/projects/{SEG}/repository/commits", self.create_commit)
        r("GET", f"{API}/projects/{SEG}/repository/commits", self.list_commits)
        r("GET", f"{API}/projects/{SEG}/repository/compare", self.compare)
        r("GET", f"{API}/projects/{SEG}/repository/branches/{SEG}", self.get_branch)
        r("POST", f"{API}/projects/{SEG}/repository/branches", self.create_branch)
        r("GET", f"{API}/projects/{SEG}/merge_requests", self.list_merge_requests)
        r("POST", f"{API}/projects/{SEG}/merge_requests", self.create_merge_request)
        r("GET", f"{API}/projects/{SEG}/merge_requests/{SEG}", self.get_merge_request)
        r("PUT", f"{API}/projects/{SEG}/merge_requests/{SEG}", self.update_merge_request)
        r("GET", f"{API}/projects/{SEG}/hooks", self.list_hooks)
        r("POST", f"{API}/projects/{SEG}/hooks", self.create_hook)

    # --- helpers used by tests ---------------------------------------------------------------
    def add_group(self, path: str) -> int:
        self.groups[path] = next(self.ids)
        return self.groups[path]

    def add_project(self, path: str, files: dict[str, bytes], *, managed: bool = False) -> int:
        """A project created outside Paved (no marker topic unless `managed`), with one commit."""
        namespace, _, name = path.rpartition("/")
        project = self._new_project(
            namespace, name, "private", "main", ["paved-managed"] if managed else []
        )
        self._commit(project, "main", dict(files), "initial")
        return int(project["id"])

    def files(self, path: str, branch: str = "main") -> dict[str, bytes]:
        project = self._by_path(path)
        assert project is not None, path
        return dict(project["commits"][project["branches"][branch]]["tree"])

    def commit_count(self, path: str, branch: str) -> int:
        project = self._by_path(path)
        assert project is not None
        count, sha = 0, project["branches"].get(branch)
        while sha:
            count += 1
            sha = project["commits"][sha]["parent"]
        return count

    def project(self, path: str) -> dict[str, Any] | None:
        return self._by_path(path)

    # --- plumbing ----------------------------------------------------------------------------
    def _answer(self, request: Request) -> Response:
        # Real: 401 {"message": "401 Unauthorized"} for a missing or wrong PRIVATE-TOKEN.
        if request.headers.get("private-token") not in self.tokens:
            return Response(401, {"message": "401 Unauthorized"})
        return super()._answer(request)

    @staticmethod
    def _body(req: Request) -> dict[str, Any]:
        if not req.body:
            return dict(req.query)
        try:
            data = json.loads(req.body)
        except ValueError:
            return dict(req.query)
        return data if isinstance(data, dict) else {}

    def _by_path(self, path: str) -> dict[str, Any] | None:
        for project in self.projects.values():
            if project["path_with_namespace"].lower() == path.lower():
                return project
        return None

    def _find(self, ident: str) -> dict[str, Any] | None:
        ident = unquote(ident)
        if ident.isdigit():
            return self.projects.get(int(ident))
        return self._by_path(ident)

    @staticmethod
    def _missing(what: str = "Project") -> Response:
        return Response(404, {"message": f"404 {what} Not Found"})

    def _json(self, project: dict[str, Any]) -> dict[str, Any]:
        path = project["path_with_namespace"]
        return {
            "id": project["id"],
            "name": project["name"],
            "path": project["name"],
            "path_with_namespace": path,
            "description": project["description"],
            "visibility": project["visibility"],
            "default_branch": project["default_branch"] if project["branches"] else None,
            "topics": list(project["topics"]),
            "archived": project["archived"],
            "web_url": f"{self.web}/{path}",
            "http_url_to_repo": f"{self.web}/{path}.git",
            "namespace": {
                "id": self.groups[project["namespace"]],
                "full_path": project["namespace"],
            },
        }

    def _new_project(
        self, namespace: str, name: str, visibility: str, branch: str, topics: list[str]
    ) -> dict[str, Any]:
        project: dict[str, Any] = {
            "id": next(self.ids),
            "name": name,
            "namespace": namespace,
            "path_with_namespace": f"{namespace}/{name}",
            "description": "",
            "visibility": visibility,
            "default_branch": branch,
            "topics": topics,
            "archived": False,
            "branches": {},
            "commits": {},
            "merge_requests": [],
            "hooks": [],
        }
        self.projects[project["id"]] = project
        return project

    @staticmethod
    def _commit(project: dict[str, Any], branch: str, tree: dict[str, bytes], message: str) -> str:
        parent = project["branches"].get(branch)
        digest = hashlib.sha1(  # noqa: S324
            json.dumps(
                [parent, message, sorted((p, git_blob_sha(d)) for p, d in tree.items())]
            ).encode()
        ).hexdigest()
        project["commits"][digest] = {"tree": tree, "parent": parent, "message": message}
        project["branches"][branch] = digest
        return digest

    # --- endpoints ---------------------------------------------------------------------------
    def get_user(self, req: Request) -> Response:
        # GET /user: the token's user.
        return Response(200, {"id": 1, "username": "paved-bot", "name": "Paved"})

    def get_namespace(self, req: Request, ident: str) -> Response:
        # GET /namespaces/:id (id or URL-encoded full path)
        path = unquote(ident)
        found = next((p for p, i in self.groups.items() if p == path or str(i) == path), None)
        if found is None:
            return self._missing("Namespace")
        return Response(200, {"id": self.groups[found], "name": found, "path": found.rsplit("/", 1)[-1],
                              "full_path": found, "kind": "group"})  # fmt: skip

    def create_project(self, req: Request) -> Response:
        # POST /projects: 400 "has already been taken" for a path in use.
        body = self._body(req)
        namespace = next(
            (p for p, i in self.groups.items() if i == int(body["namespace_id"])), None
        )
        if namespace is None:
            return Response(404, {"message": "404 Namespace Not Found"})
        name = str(body.get("path") or body["name"])
        if self._by_path(f"{namespace}/{name}") is not None:
            return Response(400, {"message": {"path": ["has already been taken"]}})
        visibility = str(body.get("visibility") or "private")
        if visibility not in ("private", "internal", "public"):
            return Response(400, {"message": "visibility does not have a valid value"})
        project = self._new_project(namespace, name, visibility, str(body.get("default_branch") or "main"),
                                    list(body.get("topics") or []))  # fmt: skip
        project["description"] = str(body.get("description") or "")
        return Response(201, self._json(project))

    def get_project(self, req: Request, ident: str) -> Response:
        project = self._find(ident)
        return Response(200, self._json(project)) if project else self._missing()

    def delete_project(self, req: Request, ident: str) -> Response:
        project = self._find(ident)
        if project is None:
            return self._missing()
        del self.projects[project["id"]]
        return Response(202, {"message": "202 Accepted"})

    def archive_project(self, req: Request, ident: str) -> Response:
        project = self._find(ident)
        if project is None:
            return self._missing()
        project["archived"] = True
        return Response(201, self._json(project))

    def get_tree(self, req: Request, ident: str) -> Response:
        # GET /projects/:id/repository/tree?ref=&recursive=: 404 "Tree Not Found" for a missing ref.
        project = self._find(ident)
        if project is None:
            return self._missing()
        sha = project["branches"].get(req.query.get("ref") or project["default_branch"])
        if sha is None:
            return self._missing("Tree")
        tree = project["commits"][sha]["tree"]
        return Response(200, [{"id": git_blob_sha(data), "name": path.rsplit("/", 1)[-1], "type": "blob",
                               "path": path, "mode": "100644"} for path, data in sorted(tree.items())])  # fmt: skip

    def get_file(self, req: Request, ident: str, file_path: str) -> Response:
        # GET /projects/:id/repository/files/:file_path?ref=: content is base64.
        project = self._find(ident)
        if project is None:
            return self._missing()
        path = unquote(file_path)
        sha = project["branches"].get(req.query.get("ref", ""))
        data = project["commits"][sha]["tree"].get(path) if sha else None
        if data is None:
            return self._missing("File")
        return Response(200, {"file_name": path.rsplit("/", 1)[-1], "file_path": path, "size": len(data),
                              "encoding": "base64", "content": base64.b64encode(data).decode(),
                              "ref": req.query["ref"], "blob_id": git_blob_sha(data), "commit_id": sha})  # fmt: skip

    def create_commit(self, req: Request, ident: str) -> Response:
        # POST /projects/:id/repository/commits with `actions`: all or nothing, as GitLab.
        project = self._find(ident)
        if project is None:
            return self._missing()
        body = self._body(req)
        branch = str(body["branch"])
        sha = project["branches"].get(branch)
        if sha is None and project["branches"]:
            return Response(
                400, {"message": "You can only create or edit files when you are on a branch"}
            )
        tree = dict(project["commits"][sha]["tree"]) if sha else {}
        for action in body.get("actions") or []:
            path, kind = action["file_path"], action["action"]
            if kind == "create" and path in tree:
                return Response(400, {"message": "A file with this name already exists"})
            if kind in ("update", "delete") and path not in tree:
                return Response(400, {"message": "A file with this name doesn't exist"})
            if kind == "delete":
                del tree[path]
                continue
            content = action.get("content") or ""
            data = (
                base64.b64decode(content)
                if action.get("encoding") == "base64"
                else content.encode()
            )
            tree[path] = data
        new = self._commit(project, branch, tree, str(body["commit_message"]))
        return Response(201, {"id": new, "short_id": new[:8], "title": body["commit_message"],
                              "message": body["commit_message"], "parent_ids": [sha] if sha else []})  # fmt: skip

    def list_commits(self, req: Request, ident: str) -> Response:
        # GET /projects/:id/repository/commits?ref_name=&first_parent=: newest first.
        project = self._find(ident)
        if project is None:
            return self._missing()
        sha = project["branches"].get(req.query.get("ref_name") or project["default_branch"])
        if sha is None:
            return self._missing("Branch")
        found = []
        while sha and len(found) < int(req.query.get("per_page") or 20):
            commit = project["commits"][sha]
            found.append({"id": sha, "short_id": sha[:8], "title": commit["message"],
                          "parent_ids": [commit["parent"]] if commit["parent"] else []})  # fmt: skip
            sha = commit["parent"]
        return Response(200, found)

    def compare(self, req: Request, ident: str) -> Response:
        # GET /projects/:id/repository/compare?from=&to=: the commits on `to` not on `from`.
        project = self._find(ident)
        if project is None:
            return self._missing()

        def chain(ref: str) -> list[str]:
            sha, found = project["branches"].get(ref), []
            while sha:
                found.append(sha)
                sha = project["commits"][sha]["parent"]
            return found

        base = set(chain(req.query.get("from", "")))
        ahead = [sha for sha in chain(req.query.get("to", "")) if sha not in base]
        return Response(200, {"commits": [{"id": sha} for sha in reversed(ahead)], "diffs": []})

    def get_branch(self, req: Request, ident: str, branch: str) -> Response:
        project = self._find(ident)
        if project is None:
            return self._missing()
        sha = project["branches"].get(unquote(branch))
        if sha is None:
            return self._missing("Branch")
        return Response(200, {"name": unquote(branch), "commit": {"id": sha}, "protected": False})

    def create_branch(self, req: Request, ident: str) -> Response:
        # POST /projects/:id/repository/branches (branch, ref)
        project = self._find(ident)
        if project is None:
            return self._missing()
        body = self._body(req)
        branch, ref = str(body["branch"]), str(body["ref"])
        if branch in project["branches"]:
            return Response(400, {"message": "Branch already exists"})
        sha = project["branches"].get(ref) or (ref if ref in project["commits"] else None)
        if sha is None:
            return Response(400, {"message": "Invalid reference name: " + ref})
        project["branches"][branch] = sha
        return Response(201, {"name": branch, "commit": {"id": sha}, "protected": False})

    def _mr_json(self, project: dict[str, Any], mr: dict[str, Any]) -> dict[str, Any]:
        return {**mr, "project_id": project["id"],
                "web_url": f"{self.web}/{project['path_with_namespace']}/-/merge_requests/{mr['iid']}"}  # fmt: skip

    def list_merge_requests(self, req: Request, ident: str) -> Response:
        project = self._find(ident)
        if project is None:
            return self._missing()
        wanted = {
            k: req.query[k] for k in ("state", "source_branch", "target_branch") if k in req.query
        }
        found = [self._mr_json(project, mr) for mr in project["merge_requests"]
                 if all(mr[k] == v for k, v in wanted.items())]  # fmt: skip
        return Response(200, found)

    def create_merge_request(self, req: Request, ident: str) -> Response:
        # POST /projects/:id/merge_requests: 409 for a second open one from the same branch.
        project = self._find(ident)
        if project is None:
            return self._missing()
        body = self._body(req)
        source, target = str(body["source_branch"]), str(body["target_branch"])
        for name in (source, target):
            if name not in project["branches"]:
                return Response(400, {"message": [f"Branch {name} does not exist"]})
        for mr in project["merge_requests"]:
            if (
                mr["state"] == "opened"
                and mr["source_branch"] == source
                and mr["target_branch"] == target
            ):
                return Response(
                    409,
                    {
                        "message": [
                            f"Another open merge request already exists for this source branch: !{mr['iid']}"
                        ]
                    },
                )
        mr = {"id": next(self.ids), "iid": len(project["merge_requests"]) + 1, "title": body["title"],
              "description": body.get("description") or "", "state": "opened",
              "source_branch": source, "target_branch": target}  # fmt: skip
        project["merge_requests"].append(mr)
        return Response(201, self._mr_json(project, mr))

    def _merge_request(self, ident: str, iid: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        project = self._find(ident)
        if project is None:
            return None
        found = [mr for mr in project["merge_requests"] if str(mr["iid"]) == iid]
        return (project, found[0]) if found else None

    def get_merge_request(self, req: Request, ident: str, iid: str) -> Response:
        found = self._merge_request(ident, iid)
        if found is None:
            return Response(404, {"message": "404 Not found"})
        return Response(200, self._mr_json(*found))

    def update_merge_request(self, req: Request, ident: str, iid: str) -> Response:
        # PUT /projects/:id/merge_requests/:iid: title, description, state_event close/reopen.
        found = self._merge_request(ident, iid)
        if found is None:
            return Response(404, {"message": "404 Not found"})
        project, mr = found
        body = self._body(req)
        for key in ("title", "description"):
            if key in body:
                mr[key] = str(body[key])
        event = body.get("state_event")
        if event in ("close", "reopen") and mr["state"] != "merged":
            mr["state"] = "closed" if event == "close" else "opened"
        return Response(200, self._mr_json(project, mr))

    def list_hooks(self, req: Request, ident: str) -> Response:
        project = self._find(ident)
        return Response(200, project["hooks"]) if project else self._missing()

    def create_hook(self, req: Request, ident: str) -> Response:
        project = self._find(ident)
        if project is None:
            return self._missing()
        body = self._body(req)
        hook = {
            "id": next(self.ids),
            "url": body["url"],
            "push_events": bool(body.get("push_events")),
        }
        project["hooks"].append(hook)
        return Response(201, hook)
