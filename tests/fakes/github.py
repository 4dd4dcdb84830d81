"""A stateful GitHub REST v3 stand-in for PyGithub, served on 127.0.0.1.

Only the endpoints Paved's github provider uses. Each handler names the real GitHub endpoint
it mirrors (docs.github.com/rest) and answers with the same status codes and the fields PyGithub
reads. Blob SHAs are real git blob SHAs (GitHub's are), so "is this file unchanged?" works the
same way it does against github.com. Also as GitHub does: rate-limit headers on every answer
(and 403 at zero), Link-header pagination of lists, plan and permission 403s for branch
protection (`plan`, `admin`), topic validation. `fail_on` makes one route fail on demand. Not
emulated: ETags, most other validation.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import time
from typing import Any
from urllib.parse import urlencode

import jwt

from tests.fakes.http import FakeServer, Request, Response

SEG = r"([^/]+)"
TOPIC = re.compile(r"^[a-z0-9][a-z0-9-]{0,49}$")


def git_blob_sha(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()  # noqa: S324


def _digest(value: Any) -> str:
    return hashlib.sha1(json.dumps(value, sort_keys=True).encode()).hexdigest()  # noqa: S324


class FakeGitHub(FakeServer):
    contract = "github"  # tests/contracts/specs/github.json

    def __init__(
        self,
        *,
        token: str = "ghp_test",  # noqa: S107
        app_id: int | None = None,
        app_public_key: str | None = None,
    ) -> None:
        super().__init__()
        self.tokens = {token}
        self.app_id = app_id
        self.app_public_key = app_public_key
        self.installation_id = 42
        self.repos: dict[str, dict[str, Any]] = {}
        self.teams: dict[str, set[str]] = {"acme": {"team-orders"}}
        # What the organisation's plan and Paved's credentials allow (real GitHub refuses with
        # 403s): protection of private repositories needs a paid plan, and any protection needs
        # admin rights on the repository.
        self.plan = "team"  # "free": branch protection only for public repositories
        self.admin = True  # False: the credentials lack admin rights (Administration: write)
        self.rate_limit_total = 5000
        self.rate_remaining = 5000
        self.rate_reset = time.time() + 3600
        self.ids = itertools.count(1000)
        self.token_requests = 0
        r = self.route
        r("GET", "/rate_limit", self.rate_limit)
        r("GET", f"/orgs/{SEG}", self.get_org)
        r("GET", f"/orgs/{SEG}/installation", self.org_installation)
        r("POST", r"/app/installations/(\d+)/access_tokens", self.installation_token)
        r("POST", f"/orgs/{SEG}/repos", self.create_repo)
        r("GET", f"/repos/{SEG}/{SEG}", self.get_repo)
        r("PATCH", f"/repos/{SEG}/{SEG}", self.update_repo)
        r("PUT", f"/repos/{SEG}/{SEG}/topics", self.replace_topics)
        r("GET", f"/repos/{SEG}/{SEG}/git/ref/(.+)", self.get_ref)
        r("POST", f"/repos/{SEG}/{SEG}/git/refs", self.create_ref)
        r("PATCH", f"/repos/{SEG}/{SEG}/git/refs/(.+)", self.update_ref)
        r("GET", f"/repos/{SEG}/{SEG}/git/commits/{SEG}", self.get_commit)
        r("POST", f"/repos/{SEG}/{SEG}/git/commits", self.create_commit)
        r("POST", f"/repos/{SEG}/{SEG}/git/blobs", self.create_blob)
        r("GET", f"/repos/{SEG}/{SEG}/git/blobs/{SEG}", self.get_blob)
        r("POST", f"/repos/{SEG}/{SEG}/git/trees", self.create_tree)
        r("GET", f"/repos/{SEG}/{SEG}/git/trees/{SEG}", self.get_tree)
        r("GET", f"/repos/{SEG}/{SEG}/branches/{SEG}", self.get_branch)
        r("PUT", f"/repos/{SEG}/{SEG}/branches/{SEG}/protection", self.put_protection)
        r("GET", f"/orgs/{SEG}/teams/{SEG}", self.get_team)
        r("PUT", f"/orgs/{SEG}/teams/{SEG}/repos/{SEG}/{SEG}", self.put_team_repo)
        r("GET", f"/repos/{SEG}/{SEG}/hooks", self.list_hooks)
        r("POST", f"/repos/{SEG}/{SEG}/hooks", self.create_hook)
        r("GET", f"/repos/{SEG}/{SEG}/pulls", self.list_pulls)
        r("POST", f"/repos/{SEG}/{SEG}/pulls", self.create_pull)
        r("GET", f"/repos/{SEG}/{SEG}/pulls/([0-9]+)", self.get_pull)
        r("PATCH", f"/repos/{SEG}/{SEG}/pulls/([0-9]+)", self.update_pull)

    # --- helpers -------------------------------------------------------------------------
    def _answer(self, request: Request) -> Response:
        app_endpoint = request.path.startswith("/app/") or request.path.endswith("/installation")
        if app_endpoint and not self._jwt_ok(request):
            # Real: 401 "A JSON web token could not be decoded" for a bad/missing App JWT
            return self._err(401, "A JSON web token could not be decoded")
        if not app_endpoint and not self._authorised(request):
            # Real: 401 {"message": "Bad credentials", "documentation_url": ...}
            return self._err(401, "Bad credentials")
        if app_endpoint:
            return super()._answer(request)
        # Primary rate limit: every answer says what is left; at 0 GitHub answers 403 (or 429)
        # "API rate limit exceeded" until X-RateLimit-Reset (docs.github.com/rest/using-the-rest-
        # api/rate-limits-for-the-rest-api#exceeding-the-rate-limit).
        if self.rate_remaining <= 0:
            response = self._err(403, "API rate limit exceeded for installation ID 42.")
        else:
            self.rate_remaining -= 1
            response = super()._answer(request)
        response.headers = {**self._rate_headers(), **response.headers}
        return response

    def _rate_headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.rate_limit_total),
            "X-RateLimit-Remaining": str(max(0, self.rate_remaining)),
            "X-RateLimit-Used": str(self.rate_limit_total - max(0, self.rate_remaining)),
            "X-RateLimit-Reset": str(int(self.rate_reset)),
            "X-RateLimit-Resource": "core",
        }

    def _page(self, req: Request, items: list[Any], path: str) -> Response:
        """GitHub's pagination: `per_page` (default 30, at most 100) and `page`, with a Link
        header naming the next and last pages (docs.github.com/rest/using-the-rest-api/using-
        pagination-in-the-rest-api)."""
        per_page = min(100, int(req.query.get("per_page", "30")))
        page = max(1, int(req.query.get("page", "1")))
        last = max(1, -(-len(items) // per_page))
        headers: dict[str, str] = {}
        if last > 1:
            query = {k: v for k, v in req.query.items() if k not in ("page", "per_page")}

            def link(n: int) -> str:
                params = urlencode({**query, "per_page": per_page, "page": n})
                return f"<{self.url}{path}?{params}>"

            rels = []
            if page < last:
                rels += [f'{link(page + 1)}; rel="next"', f'{link(last)}; rel="last"']
            if page > 1:
                rels += [f'{link(1)}; rel="first"', f'{link(page - 1)}; rel="prev"']
            headers["Link"] = ", ".join(rels)
        return Response(200, items[(page - 1) * per_page : page * per_page], headers)

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        return header.startswith("token ") and header[6:] in self.tokens

    def _jwt_ok(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer ") or not self.app_public_key:
            return False
        try:
            claims = jwt.decode(header[7:], self.app_public_key, algorithms=["RS256"])
        except jwt.PyJWTError:
            return False
        return str(claims.get("iss")) == str(self.app_id)

    def _err(self, status: int, message: str, **extra: Any) -> Response:
        return Response(
            status,
            {"message": message, **extra, "documentation_url": "https://docs.github.com/rest"},
        )

    def _repo_json(self, full: str) -> dict[str, Any]:
        repo = self.repos[full]
        owner, name = full.split("/")
        return {
            "id": repo["id"],
            "name": name,
            "full_name": full,
            "private": repo["private"],
            "archived": bool(repo.get("archived", False)),
            "visibility": "private" if repo["private"] else "public",
            "description": repo["description"],
            "topics": list(repo["topics"]),
            "owner": {"login": owner, "type": "Organization", "url": f"{self.url}/users/{owner}"},
            "url": f"{self.url}/repos/{full}",
            "default_branch": repo["default_branch"],
            "clone_url": f"https://github.example/{full}.git",
            "html_url": f"https://github.example/{full}",
        }

    def _commit_json(self, full: str, sha: str) -> dict[str, Any]:
        c = self.repos[full]["commits"][sha]
        base = f"{self.url}/repos/{full}/git"
        return {
            "sha": sha,
            "url": f"{base}/commits/{sha}",
            "message": c["message"],
            "tree": {"sha": c["tree"], "url": f"{base}/trees/{c['tree']}"},
            "parents": [{"sha": p, "url": f"{base}/commits/{p}"} for p in c["parents"]],
        }

    def _ref_json(self, full: str, ref: str, sha: str) -> dict[str, Any]:
        return {
            "ref": f"refs/{ref}",
            "url": f"{self.url}/repos/{full}/git/refs/{ref}",
            "object": {
                "sha": sha,
                "type": "commit",
                "url": f"{self.url}/repos/{full}/git/commits/{sha}",
            },
        }

    def _store_tree(self, repo: dict[str, Any], entries: dict[str, tuple[str, str]]) -> str:
        sha = _digest(sorted(entries.items()))
        repo["trees"][sha] = dict(entries)
        return sha

    def _new_commit(self, repo: dict[str, Any], tree: str, parents: list[str], message: str) -> str:
        sha = _digest([tree, parents, message, time.time_ns()])
        repo["commits"][sha] = {"tree": tree, "parents": parents, "message": message}
        return sha

    def add_foreign_repo(self, owner: str, name: str) -> None:
        """A repository someone created by hand (no paved-managed topic)."""
        self._create(owner, name, {"name": name, "auto_init": True})

    def files(self, full: str, branch: str = "main") -> dict[str, bytes]:
        repo = self.repos[full]
        tree = repo["trees"][repo["commits"][repo["refs"][f"heads/{branch}"]]["tree"]]
        return {path: repo["blobs"][sha] for path, (_mode, sha) in tree.items()}

    def commit_count(self, full: str, branch: str = "main") -> int:
        repo = self.repos[full]
        sha, count = repo["refs"].get(f"heads/{branch}"), 0
        while sha:
            count += 1
            parents = repo["commits"][sha]["parents"]
            sha = parents[0] if parents else None
        return count

    # --- endpoints -----------------------------------------------------------------------
    def rate_limit(self, req: Request) -> Response:
        # GET /rate_limit -> 200 {"resources": {...}, "rate": {...}}
        core = {"limit": 5000, "remaining": 4999, "reset": int(time.time()) + 3600, "used": 1}
        return Response(200, {"resources": {"core": core, "search": core}, "rate": core})

    def get_org(self, req: Request, org: str) -> Response:
        # GET /orgs/{org} -> 200 organization; 404 {"message": "Not Found"}
        if org not in self.teams:
            return self._err(404, "Not Found")
        return Response(
            200, {"login": org, "id": 2, "type": "Organization", "url": f"{self.url}/orgs/{org}"}
        )

    def org_installation(self, req: Request, org: str) -> Response:
        # GET /orgs/{org}/installation (App JWT) -> 200 installation
        return Response(
            200, {"id": self.installation_id, "app_id": self.app_id, "account": {"login": org}}
        )

    def installation_token(self, req: Request, installation: str) -> Response:
        # POST /app/installations/{id}/access_tokens (Bearer <App JWT>) -> 201 {"token", "expires_at"}
        if int(installation) != self.installation_id:
            return self._err(404, "Not Found")
        self.token_requests += 1
        token = f"ghs_fake{next(self.ids)}"
        self.tokens.add(token)
        expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
        return Response(
            201,
            {
                "token": token,
                "expires_at": expires,
                "permissions": {"contents": "write", "administration": "write"},
                "repository_selection": "all",
            },
        )

    def _create(self, owner: str, name: str, body: dict[str, Any]) -> str:
        full = f"{owner}/{name}"
        repo: dict[str, Any] = {
            "id": next(self.ids),
            "private": body.get("private", False),
            "description": body.get("description") or None,
            "topics": [],
            "default_branch": "main",
            "refs": {},
            "commits": {},
            "trees": {},
            "blobs": {},
            "hooks": [],
            "pulls": [],
            "teams": {},
            "protection": {},
        }
        self.repos[full] = repo
        if body.get("auto_init"):
            readme = f"# {name}\n".encode()
            repo["blobs"][git_blob_sha(readme)] = readme
            tree = self._store_tree(repo, {"README.md": ("100644", git_blob_sha(readme))})
            repo["refs"]["heads/main"] = self._new_commit(repo, tree, [], "Initial commit")
        return full

    def create_repo(self, req: Request, org: str) -> Response:
        # POST /orgs/{org}/repos -> 201 repository; duplicate -> 422 "Repository creation failed."
        body = req.json or {}
        full = f"{org}/{body['name']}"
        if full in self.repos:
            return self._err(
                422,
                "Repository creation failed.",
                errors=[
                    {
                        "resource": "Repository",
                        "code": "custom",
                        "field": "name",
                        "message": "name already exists on this account",
                    }
                ],
            )
        return Response(201, self._repo_json(self._create(org, body["name"], body)))

    def get_repo(self, req: Request, owner: str, name: str) -> Response:
        # GET /repos/{owner}/{repo} -> 200 (with "topics"); 404 {"message": "Not Found"}
        full = f"{owner}/{name}"
        return (
            Response(200, self._repo_json(full))
            if full in self.repos
            else self._err(404, "Not Found")
        )

    def update_repo(self, req: Request, owner: str, name: str) -> Response:
        # PATCH /repos/{owner}/{repo} {"name", "default_branch", "description", ...} -> 200 repo;
        # a default branch that does not exist -> 422 "Validation Failed"
        full = f"{owner}/{name}"
        repo, body = self.repos.get(full), req.json or {}
        if repo is None:
            return self._err(404, "Not Found")
        branch = body.get("default_branch")
        if branch is not None:
            if f"heads/{branch}" not in repo["refs"]:
                return self._err(
                    422,
                    "Validation Failed",
                    errors=[
                        {"resource": "Repository", "code": "invalid", "field": "default_branch"}
                    ],
                )
            repo["default_branch"] = branch
        for key in ("description", "private", "archived"):
            if key in body:
                repo[key] = body[key]
        return Response(200, self._repo_json(full))

    def replace_topics(self, req: Request, owner: str, name: str) -> Response:
        # PUT /repos/{owner}/{repo}/topics {"names": [...]} -> 200 {"names": [...]};
        # a topic GitHub does not accept -> 422 "Validation Failed" naming it
        if not isinstance((req.json or {}).get("names"), list):
            return self._err(422, 'Invalid request.\n\n"names" wasn\'t supplied.')
        names = list(req.json["names"])
        bad = [t for t in names if not TOPIC.match(t)]
        if bad:
            return self._err(
                422,
                "Validation Failed",
                # The description's "validation-failed-simple": errors are plain strings here.
                errors=[
                    f"{bad[0]} is not a valid topic. Topics must start with a lowercase letter "
                    "or number, consist of 50 characters or less, and can include hyphens."
                ],
            )
        self.repos[f"{owner}/{name}"]["topics"] = names
        return Response(200, {"names": names})

    def get_ref(self, req: Request, owner: str, name: str, ref: str) -> Response:
        # GET /repos/{o}/{r}/git/ref/{ref} -> 200; empty repo -> 409 "Git Repository is empty."
        full = f"{owner}/{name}"
        repo = self.repos.get(full)
        if repo is None:
            return self._err(404, "Not Found")
        if not repo["refs"]:
            return self._err(409, "Git Repository is empty.")
        if ref not in repo["refs"]:
            return self._err(404, "Not Found")
        return Response(200, self._ref_json(full, ref, repo["refs"][ref]))

    def create_ref(self, req: Request, owner: str, name: str) -> Response:
        # POST /repos/{o}/{r}/git/refs {"ref", "sha"} -> 201; exists -> 422 "Reference already exists"
        full = f"{owner}/{name}"
        ref = req.json["ref"].removeprefix("refs/")
        if ref in self.repos[full]["refs"]:
            return self._err(422, "Reference already exists")
        self.repos[full]["refs"][ref] = req.json["sha"]
        return Response(201, self._ref_json(full, ref, req.json["sha"]))

    def update_ref(self, req: Request, owner: str, name: str, ref: str) -> Response:
        # PATCH /repos/{o}/{r}/git/refs/{ref} {"sha", "force"} -> 200;
        # not a descendant -> 422 "Update is not a fast forward"
        full = f"{owner}/{name}"
        repo = self.repos[full]
        new, old = req.json["sha"], repo["refs"].get(ref)
        if old and not req.json.get("force"):
            todo, seen = [new], set()
            while todo:
                sha = todo.pop()
                if sha == old:
                    break
                seen.add(sha)
                todo += [
                    p for p in repo["commits"].get(sha, {}).get("parents", []) if p not in seen
                ]
            else:
                return self._err(422, "Update is not a fast forward")
        repo["refs"][ref] = new
        return Response(200, self._ref_json(full, ref, new))

    def get_commit(self, req: Request, owner: str, name: str, sha: str) -> Response:
        # GET /repos/{o}/{r}/git/commits/{sha} -> 200 {"sha", "tree", "parents", "message"}
        full = f"{owner}/{name}"
        if sha not in self.repos[full]["commits"]:
            return self._err(404, "Not Found")
        return Response(200, self._commit_json(full, sha))

    def create_commit(self, req: Request, owner: str, name: str) -> Response:
        # POST /repos/{o}/{r}/git/commits {"message", "tree", "parents"} -> 201 commit
        full = f"{owner}/{name}"
        repo, body = self.repos[full], req.json
        if body["tree"] not in repo["trees"]:
            return self._err(422, "Tree SHA does not exist")
        sha = self._new_commit(repo, body["tree"], body.get("parents", []), body["message"])
        return Response(201, self._commit_json(full, sha))

    def create_blob(self, req: Request, owner: str, name: str) -> Response:
        # POST /repos/{o}/{r}/git/blobs {"content", "encoding"} -> 201 {"sha", "url"}
        full = f"{owner}/{name}"
        body = req.json
        if body.get("encoding") == "base64":
            content = base64.b64decode(body["content"])
        else:
            content = body["content"].encode()
        sha = git_blob_sha(content)
        self.repos[full]["blobs"][sha] = content
        return Response(201, {"sha": sha, "url": f"{self.url}/repos/{full}/git/blobs/{sha}"})

    def get_blob(self, req: Request, owner: str, name: str, sha: str) -> Response:
        # GET /repos/{o}/{r}/git/blobs/{sha} -> 200 {"content": base64, "encoding": "base64"}
        full = f"{owner}/{name}"
        content = self.repos[full]["blobs"].get(sha)
        if content is None:
            return self._err(404, "Not Found")
        return Response(
            200,
            {
                "sha": sha,
                "size": len(content),
                "encoding": "base64",
                "content": base64.b64encode(content).decode(),
                "url": f"{self.url}/repos/{full}/git/blobs/{sha}",
            },
        )

    def create_tree(self, req: Request, owner: str, name: str) -> Response:
        # POST /repos/{o}/{r}/git/trees {"tree": [...], "base_tree"?} -> 201;
        # an entry with "sha": null deletes that path.
        full = f"{owner}/{name}"
        repo, body = self.repos[full], req.json
        entries = dict(repo["trees"][body["base_tree"]]) if body.get("base_tree") else {}
        for e in body["tree"]:
            if "content" in e:
                content = e["content"].encode()
                repo["blobs"][git_blob_sha(content)] = content
                entries[e["path"]] = (e["mode"], git_blob_sha(content))
            elif e.get("sha") is None:
                entries.pop(e["path"], None)
            elif e["sha"] not in repo["blobs"]:
                return self._err(422, "GitRPC::BadObjectState")
            else:
                entries[e["path"]] = (e["mode"], e["sha"])
        sha = self._store_tree(repo, entries)
        return Response(201, self._tree_json(full, sha))

    def _tree_json(self, full: str, sha: str) -> dict[str, Any]:
        repo = self.repos[full]
        items: list[dict[str, Any]] = []
        dirs = sorted({p.rsplit("/", 1)[0] for p in repo["trees"][sha] if "/" in p})
        expanded = set()
        for d in dirs:  # recursive listings include the directories, as GitHub's do
            parts = d.split("/")
            for i in range(1, len(parts) + 1):
                expanded.add("/".join(parts[:i]))
        for d in sorted(expanded):
            items.append({"path": d, "mode": "040000", "type": "tree", "sha": _digest(d)})
        for path, (mode, blob) in sorted(repo["trees"][sha].items()):
            items.append(
                {
                    "path": path,
                    "mode": mode,
                    "type": "blob",
                    "sha": blob,
                    "size": len(repo["blobs"][blob]),
                    "url": f"{self.url}/repos/{full}/git/blobs/{blob}",
                }
            )
        return {
            "sha": sha,
            "url": f"{self.url}/repos/{full}/git/trees/{sha}",
            "tree": items,
            "truncated": False,
        }

    def get_tree(self, req: Request, owner: str, name: str, sha: str) -> Response:
        # GET /repos/{o}/{r}/git/trees/{sha}?recursive=1 -> 200 {"tree": [...], "truncated"}
        full = f"{owner}/{name}"
        if sha not in self.repos[full]["trees"]:
            return self._err(404, "Not Found")
        return Response(200, self._tree_json(full, sha))

    def get_branch(self, req: Request, owner: str, name: str, branch: str) -> Response:
        # GET /repos/{o}/{r}/branches/{branch} -> 200 {"name", "commit", "protected", "protection_url"}
        full = f"{owner}/{name}"
        repo = self.repos[full]
        sha = repo["refs"].get(f"heads/{branch}")
        if sha is None:
            return self._err(404, "Branch not found")
        return Response(
            200,
            {
                "name": branch,
                "protected": branch in repo["protection"],
                "commit": {"sha": sha, "url": f"{self.url}/repos/{full}/commits/{sha}"},
                "protection_url": f"{self.url}/repos/{full}/branches/{branch}/protection",
            },
        )

    def put_protection(self, req: Request, owner: str, name: str, branch: str) -> Response:
        # PUT /repos/{o}/{r}/branches/{branch}/protection -> 200 protection. Private repositories
        # on GitHub Free -> 403 "Upgrade to GitHub Pro or make this repository public to enable
        # this feature."; credentials without admin rights -> 403 "Resource not accessible by
        # integration" (docs.github.com/rest/branches/branch-protection#update-branch-protection)
        full = f"{owner}/{name}"
        if not self.admin:
            return self._err(403, "Resource not accessible by integration")
        if self.plan == "free" and self.repos[full]["private"]:
            return self._err(
                403, "Upgrade to GitHub Pro or make this repository public to enable this feature."
            )
        self.repos[full]["protection"][branch] = req.json
        # Real answers wrap booleans: {"enforce_admins": {"url", "enabled": false}, ...}
        url = f"{self.url}/repos/{full}/branches/{branch}/protection"
        body: dict[str, Any] = {"url": url}
        if isinstance(req.json.get("enforce_admins"), bool):
            body["enforce_admins"] = {
                "url": f"{url}/enforce_admins",
                "enabled": req.json["enforce_admins"],
            }
        for key in (  # these say only {"enabled": ...}
            "required_linear_history",
            "allow_force_pushes",
            "allow_deletions",
            "required_conversation_resolution",
            "lock_branch",
        ):
            if isinstance(req.json.get(key), bool):
                body[key] = {"enabled": req.json[key]}
        reviews = req.json.get("required_pull_request_reviews")
        if reviews:
            body["required_pull_request_reviews"] = {
                "url": f"{url}/required_pull_request_reviews",
                **reviews,
            }
        return Response(200, body)

    def get_team(self, req: Request, org: str, slug: str) -> Response:
        # GET /orgs/{org}/teams/{team_slug} -> 200 team (with "organization"); 404
        if slug not in self.teams.get(org, set()):
            return self._err(404, "Not Found")
        return Response(
            200,
            {
                "id": 7,
                "slug": slug,
                "name": slug,
                "url": f"{self.url}/orgs/{org}/teams/{slug}",
                "organization": {"login": org, "url": f"{self.url}/orgs/{org}"},
            },
        )

    def put_team_repo(self, req: Request, org: str, slug: str, owner: str, name: str) -> Response:
        # PUT /orgs/{org}/teams/{slug}/repos/{owner}/{repo} {"permission"} -> 204
        self.repos[f"{owner}/{name}"]["teams"][slug] = req.json["permission"]
        return Response(204, None)

    def list_hooks(self, req: Request, owner: str, name: str) -> Response:
        # GET /repos/{o}/{r}/hooks -> 200 [hook] (secrets shown as "********"), paginated
        return self._page(req, self.repos[f"{owner}/{name}"]["hooks"], req.path)

    def create_hook(self, req: Request, owner: str, name: str) -> Response:
        # POST /repos/{o}/{r}/hooks {"name": "web", "config", "events", "active"} -> 201 hook
        full = f"{owner}/{name}"
        body = req.json
        config = dict(body["config"])
        if "secret" in config:
            config["secret"] = "********"
        hook = {
            "id": next(self.ids),
            "type": "Repository",
            "name": body.get("name", "web"),
            "active": body.get("active", True),
            "events": body.get("events", ["push"]),
            "config": config,
            "url": f"{self.url}/repos/{full}/hooks/{len(self.repos[full]['hooks']) + 1}",
        }
        self.repos[full]["hooks"].append(hook)
        return Response(201, hook)

    # --- pull requests -------------------------------------------------------------------
    def _reachable(self, repo: dict[str, Any], start: str, target: str) -> bool:
        todo, seen = [start], set()
        while todo:
            sha = todo.pop()
            if sha == target:
                return True
            seen.add(sha)
            todo += [p for p in repo["commits"].get(sha, {}).get("parents", []) if p not in seen]
        return False

    def _pull_json(self, full: str, pr: dict[str, Any], *, detail: bool = True) -> dict[str, Any]:
        repo, owner = self.repos[full], full.split("/")[0]

        def side(branch: str) -> dict[str, Any]:
            return {
                "ref": branch,
                "label": f"{owner}:{branch}",
                "sha": repo["refs"].get(f"heads/{branch}", ""),
                "repo": self._repo_json(full),
            }

        body = {
            "id": pr["id"],
            "number": pr["number"],
            "url": f"{self.url}/repos/{full}/pulls/{pr['number']}",
            "html_url": f"https://github.example/{full}/pull/{pr['number']}",
            "state": pr["state"],
            "title": pr["title"],
            "body": pr["body"],
            "draft": pr["draft"],
            "merged_at": pr.get("merged_at"),
            "head": side(pr["head"]),
            "base": side(pr["base"]),
        }
        if detail:  # like GitHub, only a single pull request says `merged` and `mergeable`
            body.update({"merged": bool(pr.get("merged_at")), "mergeable": pr["state"] == "open"})
        return body

    def list_pulls(self, req: Request, owner: str, name: str) -> Response:
        # GET /repos/{o}/{r}/pulls?state=open&head=owner:branch&base=main -> 200 [pull request]
        full = f"{owner}/{name}"
        if full not in self.repos:
            return self._err(404, "Not Found")
        state = req.query.get("state", "open")
        found = [
            self._pull_json(full, pr, detail=False)
            for pr in self.repos[full]["pulls"]
            if (state == "all" or pr["state"] == state)
            and ("head" not in req.query or req.query["head"] == f"{owner}:{pr['head']}")
            and ("base" not in req.query or req.query["base"] == pr["base"])
        ]
        return self._page(req, found, req.path)

    def create_pull(self, req: Request, owner: str, name: str) -> Response:
        # POST /repos/{o}/{r}/pulls {"title", "head", "base", "body", "draft"} -> 201 pull request;
        # 422 "Validation Failed" for a missing branch, a duplicate open PR, or no commits.
        full = f"{owner}/{name}"
        repo, body = self.repos[full], req.json or {}
        head, base = body.get("head", ""), body.get("base", "")
        head = head.split(":", 1)[-1]
        head_sha, base_sha = repo["refs"].get(f"heads/{head}"), repo["refs"].get(f"heads/{base}")
        if not head_sha or not base_sha:
            missing = "head" if not head_sha else "base"
            return self._err(
                422,
                "Validation Failed",
                errors=[{"resource": "PullRequest", "field": missing, "code": "invalid"}],
            )
        for pr in repo["pulls"]:
            if pr["state"] == "open" and pr["head"] == head and pr["base"] == base:
                message = f"A pull request already exists for {owner}:{head}."
                return self._err(
                    422,
                    "Validation Failed",
                    errors=[{"resource": "PullRequest", "code": "custom", "message": message}],
                )
        if self._reachable(repo, base_sha, head_sha):
            message = f"No commits between {base} and {head}"
            return self._err(
                422,
                "Validation Failed",
                errors=[{"resource": "PullRequest", "code": "custom", "message": message}],
            )
        pr = {
            "id": next(self.ids),
            "number": len(repo["pulls"]) + 1,
            "state": "open",
            "title": body.get("title", ""),
            "body": body.get("body"),
            "draft": bool(body.get("draft", False)),
            "head": head,
            "base": base,
        }
        repo["pulls"].append(pr)
        return Response(201, self._pull_json(full, pr))

    def _find_pull(self, owner: str, name: str, number: str) -> dict[str, Any] | None:
        full = f"{owner}/{name}"
        if full not in self.repos:
            return None
        return next((p for p in self.repos[full]["pulls"] if p["number"] == int(number)), None)

    def get_pull(self, req: Request, owner: str, name: str, number: str) -> Response:
        # GET /repos/{o}/{r}/pulls/{n} -> 200 pull request (with `merged`); 404
        pr = self._find_pull(owner, name, number)
        if pr is None:
            return self._err(404, "Not Found")
        return Response(200, self._pull_json(f"{owner}/{name}", pr))

    def update_pull(self, req: Request, owner: str, name: str, number: str) -> Response:
        # PATCH /repos/{o}/{r}/pulls/{n} {"title", "body", "state": open|closed, "base"} -> 200
        # pull request; 422 when a merged one is reopened or state is neither open nor closed.
        pr = self._find_pull(owner, name, number)
        if pr is None:
            return self._err(404, "Not Found")
        body = req.json or {}
        state = body.get("state")
        if state is not None and (state not in ("open", "closed") or pr.get("merged_at")):
            return self._err(
                422,
                "Validation Failed",
                errors=[{"resource": "PullRequest", "field": "state", "code": "invalid"}],
            )
        for key in ("title", "body", "state", "base"):
            if key in body:
                pr[key] = body[key]
        return Response(200, self._pull_json(f"{owner}/{name}", pr))

    def merge_pull(self, full: str, number: int) -> None:
        """Test helper: the team merged the pull request on GitHub (the head becomes the base)."""
        repo = self.repos[full]
        pr = next(p for p in repo["pulls"] if p["number"] == number)
        repo["refs"][f"heads/{pr['base']}"] = repo["refs"][f"heads/{pr['head']}"]
        pr["state"], pr["merged_at"] = "closed", "2026-01-01T00:00:00Z"
