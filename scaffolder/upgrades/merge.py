"""Three-way merge of file trees with real git: the old rendering is the base commit, the
repository as the team changed it is "ours", the new rendering is "theirs"."""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from runs.workspace import safe_join

_GIT_ENV = {
    "GIT_AUTHOR_NAME": "Paved",
    "GIT_AUTHOR_EMAIL": "paved@localhost",
    "GIT_COMMITTER_NAME": "Paved",
    "GIT_COMMITTER_EMAIL": "paved@localhost",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_TERMINAL_PROMPT": "0",
    "HOME": "/nonexistent",
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LC_ALL": "C",
}


@dataclass
class MergeResult:
    """The merged tree, and what needs a person's eyes."""

    files: dict[str, bytes]
    conflicts: list[str] = field(default_factory=list)  # committed with conflict markers
    # Paths the template removed but the team changed: kept, and listed with the conflicts.
    kept: list[str] = field(default_factory=list)


def _git(
    folder: Path, *args: str, data: bytes | None = None, check: bool = True
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["git", "-c", "core.autocrlf=false", "-c", "merge.renames=false", *args],
        cwd=folder,
        env=_GIT_ENV,
        input=data,
        capture_output=True,
        check=check,
    )


def _import_stream(
    base: dict[str, bytes], ours: dict[str, bytes], theirs: dict[str, bytes]
) -> bytes:
    """A fast-import stream: the three trees as commits base, theirs (on base), ours (on base)."""
    out: list[bytes] = []
    marks: dict[bytes, int] = {}
    for files in (base, ours, theirs):
        for data in files.values():
            if data not in marks:
                marks[data] = len(marks) + 1
                out.append(b"blob\nmark :%d\ndata %d\n%s\n" % (marks[data], len(data), data))
    for index, (branch, files) in enumerate((("base", base), ("theirs", theirs), ("ours", ours))):
        out.append(b"commit refs/heads/%s\nmark :%d\n" % (branch.encode(), len(marks) + 1 + index))
        out.append(b"committer Paved <paved@localhost> 0 +0000\ndata 0\n")
        if index:
            out.append(b"from :%d\n" % (len(marks) + 1))
        out.append(b"deleteall\n")
        for path, data in sorted(files.items()):
            out.append(b"M 100644 :%d %s\n" % (marks[data], _quoted(path)))
        out.append(b"\n")
    return b"".join(out)


def _quoted(path: str) -> bytes:
    # fast-import takes a C-style quoted path when it starts with '"' or has odd characters.
    escaped = path.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return b'"' + escaped.encode() + b'"'


def three_way_merge(
    base: dict[str, bytes], ours: dict[str, bytes], theirs: dict[str, bytes]
) -> MergeResult:
    """Merge the change base→theirs into ours. Conflicting edits keep git's markers; a file
    the team deleted stays deleted; a file the template deleted is deleted unless the team
    changed it (then it is kept and listed). Four git processes, no work tree."""
    for files in (base, ours, theirs):
        for path in files:
            safe_join(Path("/nonexistent"), path, what="file")  # refuses ../ and absolute paths
    with tempfile.TemporaryDirectory(prefix="paved-merge-") as name:
        folder = Path(name)
        _git(folder, "init", "-q", "--bare", ".")
        _git(folder, "fast-import", "--quiet", data=_import_stream(base, ours, theirs))
        merged = _git(folder, "merge-tree", "--write-tree", "-z", "ours", "theirs", check=False)
        if merged.returncode not in (0, 1):
            raise RuntimeError(merged.stderr.decode(errors="replace"))
        tree, stages = _parse_merge_tree(merged.stdout)
        files = _read_tree(folder, tree)
    result = MergeResult(files=files)
    for path, present in sorted(stages.items()):
        if "2" not in present:  # the team deleted it: it stays deleted
            files.pop(path, None)
        elif "3" not in present:  # the template deleted it, the team changed it: keep the team's
            files[path] = ours[path]
            result.kept.append(path)
        else:
            result.conflicts.append(path)
    return result


def _parse_merge_tree(output: bytes) -> tuple[str, dict[str, set[str]]]:
    """`git merge-tree --write-tree -z`: the tree, then `mode oid stage\tpath` entries of the
    conflicted files, an empty entry, then messages."""
    entries = output.split(b"\0")
    tree = entries[0].decode()
    stages: dict[str, set[str]] = {}
    for entry in entries[1:]:
        if not entry:
            break
        meta, _, path = entry.decode().partition("\t")
        stages.setdefault(path, set()).add(meta.split()[2])
    return tree, stages


def _read_tree(folder: Path, tree: str) -> dict[str, bytes]:
    listing = _git(folder, "ls-tree", "-r", "-z", tree).stdout.split(b"\0")
    paths: list[tuple[str, str]] = []
    for entry in filter(None, listing):
        meta, _, path = entry.decode().partition("\t")
        _mode, kind, oid = meta.split()
        if kind == "blob":
            paths.append((path, oid))
    batch = _git(folder, "cat-file", "--batch", data="".join(f"{o}\n" for _, o in paths).encode())
    files: dict[str, bytes] = {}
    stream, offset = batch.stdout, 0
    for path, _oid in paths:
        header_end = stream.index(b"\n", offset)
        size = int(stream[offset:header_end].split()[2])
        files[path] = stream[header_end + 1 : header_end + 1 + size]
        offset = header_end + 1 + size + 1
    return files
