"""A stand-in for the Hugging Face Hub: stdlib ``http.server`` on 127.0.0.1, state in memory.

It answers the endpoints huggingface_hub 2.x calls for what glyphvae does (read from the
installed client: ``hf_api.py``, ``file_download.py``, ``_commit_api.py``,
``_snapshot_download.py``):

* ``POST /api/repos/create`` (409 when the repo exists), ``POST /api/{type}s/{id}/branch/{b}``
* ``GET /api/{type}s/{id}[/revision/{rev}]`` repo info (sha, siblings)
* ``GET /api/{type}s/{id}/tree/{rev}[/{path}]`` file listing (one page)
* ``HEAD|GET /{id}/resolve/{rev}/{path}`` with ``X-Repo-Commit``, ``ETag`` (git blob sha1),
  ``Content-Length``; 404s carry ``X-Error-Code`` (RepoNotFound, RevisionNotFound,
  EntryNotFound) as the Hub does
* ``POST /api/validate-yaml`` (parses the card's front matter)
* ``POST /api/{type}s/{id}/preupload/{rev}`` (every file "regular": no LFS/Xet)
* ``POST /api/{type}s/{id}/commit/{rev}`` (ndjson: header, file, deletedFile)

Every request body is read in full, and every request is logged in ``Hub.requests``.
``Hub.faults[(repo_id, path)] = "truncate" | "corrupt"`` damages what GET serves.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml

_API = re.compile(r"/api/(?P<type>models|datasets|spaces)/(?P<repo>[^/]+/[^/]+)(?P<rest>/.*)?")
_RESOLVE = re.compile(r"/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<path>.+)")
GITATTRIBUTES = b"*.h5 filter=lfs diff=lfs merge=lfs -text\n"


def git_sha1(data: bytes) -> str:
    """The git blob id of ``data`` (what the Hub sends as ETag for a non-LFS file)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Repo:
    """A repo: commits (sha -> {path: bytes}) and branches (name -> sha)."""

    private: bool = False
    commits: dict[str, dict[str, bytes]] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)

    def resolve(self, rev: str) -> str | None:
        return self.branches.get(rev) or (rev if rev in self.commits else None)

    def commit(self, files: dict[str, bytes], branch: str = "main") -> str:
        sha = hashlib.sha1(f"{len(self.commits)}:{sorted(files)}".encode()).hexdigest()
        self.commits[sha] = files
        self.branches[branch] = sha
        return sha


class Hub:
    """The server's state. ``with Hub() as hub:`` serves it on ``hub.url``."""

    def __init__(self) -> None:
        self.repos: dict[str, Repo] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.faults: dict[tuple[str, str], str] = {}
        self.commits_made = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> Hub:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reset(self) -> None:
        self.repos.clear()
        self.requests.clear()
        self.faults.clear()
        self.commits_made = 0

    def create(self, repo_id: str, files: dict[str, bytes] | None = None) -> Repo:
        """Create a repo directly (a test's fixture data), with one commit of ``files``."""
        repo = self.repos[repo_id] = Repo()
        repo.commit({".gitattributes": GITATTRIBUTES, **(files or {})})
        return repo

    def files(self, repo_id: str, rev: str = "main") -> dict[str, bytes]:
        repo = self.repos[repo_id]
        return repo.commits[repo.branches[rev]]


def _handler(hub: Hub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # keep pytest output clean
            pass

        # ------------------------------------------------------------ plumbing
        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while (size := int(self.rfile.readline().strip() or b"0", 16)) > 0:
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                self.rfile.readline()
                return b"".join(chunks)
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _send(
            self,
            status: int,
            body: bytes = b"",
            headers: dict[str, str] | None = None,
            length: int | None = None,
        ) -> None:
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body) if length is None else length))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
            body = json.dumps(obj).encode()
            self._send(status, body, {"Content-Type": "application/json", **(headers or {})})

        def _error(self, status: int, code: str, message: str, **headers: str) -> None:
            extra = {"X-Error-Code": code, "X-Error-Message": message, **headers}
            self._json(status, {"error": message}, extra)

        def _route(self) -> None:
            body = self._body() if self.command in ("POST", "PUT", "DELETE") else b""
            path = unquote(urlsplit(self.path).path)
            hub.requests.append((self.command, path, dict(self.headers)))
            try:
                self._dispatch(path, body)
            except Exception as e:  # a bug in the stand-in: say so instead of hanging
                self._json(500, {"error": f"stand-in hub: {type(e).__name__}: {e}"})

        do_GET = do_HEAD = do_POST = _route

        # ------------------------------------------------------------ endpoints
        def _dispatch(self, path: str, body: bytes) -> None:
            if self.command == "POST" and path == "/api/validate-yaml":
                return self._validate_yaml(json.loads(body))
            if self.command == "POST" and path == "/api/repos/create":
                return self._create(json.loads(body))
            resolve = _RESOLVE.fullmatch(path)
            if resolve and self.command in ("GET", "HEAD"):
                return self._resolve(resolve["repo"], resolve["rev"], resolve["path"])
            api = _API.fullmatch(path)
            if api is None:
                return self._error(404, "NotFound", f"no route for {self.command} {path}")
            repo_id, rest = api["repo"], api["rest"] or ""
            repo = hub.repos.get(repo_id)
            if repo is None:
                return self._error(404, "RepoNotFound", "Repository not found")
            verb, _, arg = rest.lstrip("/").partition("/")
            if self.command == "GET" and verb in ("", "revision"):
                return self._info(repo_id, repo, arg or "main")
            if self.command == "GET" and verb == "tree":
                rev, _, prefix = arg.partition("/")
                return self._tree(repo, rev, prefix)
            if self.command == "POST" and verb == "branch":
                if arg in repo.branches:
                    return self._error(409, "Conflict", "Branch already exists")
                repo.branches[arg] = repo.branches["main"]
                return self._json(200, {})
            if self.command == "POST" and verb == "preupload":
                files = json.loads(body)["files"]
                out = [
                    {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
                    for f in files
                ]
                return self._json(200, {"files": out})
            if self.command == "POST" and verb == "commit":
                return self._commit(repo_id, repo, arg, body)
            return self._error(404, "NotFound", f"no route for {self.command} {path}")

        def _validate_yaml(self, doc: dict[str, Any]) -> None:
            text = doc["content"]
            errors = []
            if text.startswith("---"):
                try:
                    meta = yaml.safe_load(text.split("---")[1])
                    if not isinstance(meta, dict):
                        errors.append({"message": "metadata must be a mapping"})
                except yaml.YAMLError as e:
                    errors.append({"message": f"invalid YAML: {e}"})
            self._json(400 if errors else 200, {"errors": errors, "warnings": []})

        def _create(self, doc: dict[str, Any]) -> None:
            repo_id = f"{doc.get('organization') or 'user'}/{doc['name']}"
            url = f"{hub.url}/{repo_id}"
            if repo_id in hub.repos:
                return self._json(409, {"error": "You already created this model repo", "url": url})
            hub.create(repo_id).private = doc.get("visibility") == "private"
            self._json(200, {"url": url, "name": repo_id})

        def _info(self, repo_id: str, repo: Repo, rev: str) -> None:
            sha = repo.resolve(rev)
            if sha is None:
                return self._error(404, "RevisionNotFound", "Invalid rev id")
            siblings = [{"rfilename": p} for p in sorted(repo.commits[sha])]
            self._json(
                200, {"id": repo_id, "sha": sha, "private": repo.private, "siblings": siblings}
            )

        def _tree(self, repo: Repo, rev: str, prefix: str) -> None:
            sha = repo.resolve(rev)
            if sha is None:
                return self._error(404, "RevisionNotFound", "Invalid rev id")
            files = repo.commits[sha]
            self._json(
                200,
                [
                    {"type": "file", "path": p, "size": len(d), "oid": git_sha1(d)}
                    for p, d in sorted(files.items())
                    if p.startswith(prefix)
                ],
            )

        def _resolve(self, repo_id: str, rev: str, path: str) -> None:
            repo = hub.repos.get(repo_id)
            if repo is None:
                return self._error(404, "RepoNotFound", "Repository not found")
            sha = repo.resolve(rev)
            if sha is None:
                return self._error(404, "RevisionNotFound", "Invalid rev id")
            data = repo.commits[sha].get(path)
            if data is None:
                return self._error(
                    404, "EntryNotFound", "Entry not found", **{"X-Repo-Commit": sha}
                )
            headers = {
                "X-Repo-Commit": sha,
                "ETag": f'"{git_sha1(data)}"',
                "Content-Type": "application/octet-stream",
            }
            fault = hub.faults.get((repo_id, path))
            if self.command == "GET" and fault == "truncate":
                data = data[: len(data) // 2]
            elif self.command == "GET" and fault == "corrupt":
                data = bytes(b ^ 0xFF for b in data[:64]) + data[64:]
            self._send(200, data, headers)

        def _commit(self, repo_id: str, repo: Repo, branch: str, body: bytes) -> None:
            lines = [json.loads(line) for line in body.splitlines() if line.strip()]
            header = next(x["value"] for x in lines if x["key"] == "header")
            if branch not in repo.branches:
                return self._error(404, "RevisionNotFound", "Invalid rev id")
            head = repo.branches[branch]
            if header.get("parentCommit") not in (None, head):
                return self._error(412, "PreconditionFailed", "The branch moved since parentCommit")
            files = dict(repo.commits[head])
            for item in lines:
                key, value = item["key"], item["value"]
                if key == "file":
                    files[value["path"]] = base64.b64decode(value["content"])
                elif key == "deletedFile":
                    if value["path"] not in files:
                        return self._error(
                            404, "EntryNotFound", "A file with this name doesn't exist"
                        )
                    del files[value["path"]]
                elif key != "header":
                    return self._error(400, "BadRequest", f"unsupported commit operation {key}")
            sha = repo.commit(files, branch)
            hub.commits_made += 1
            url = f"{hub.url}/{repo_id}/commit/{sha}"
            self._json(200, {"commitUrl": url, "commitOid": sha, "pullRequestUrl": None})

    return Handler
