"""The three-way merge on its own (real git, no database): each rule of docs/upgrades.md."""

from __future__ import annotations

import pytest

from runs.workspace import UnsafePath
from scaffolder.upgrades.merge import three_way_merge

BASE = {"both.txt": b"1\n2\n3\n", "template-only.txt": b"x\n", "team-deleted.txt": b"d\n",
        "template-deleted.txt": b"e\n", "odd name/q\"uote.txt": b"q\n"}  # fmt: skip
OURS = {"both.txt": b"1\n2\nours\n", "template-only.txt": b"x\n", "team-new.txt": b"n\n",
        "template-deleted.txt": b"e, changed by the team\n", "odd name/q\"uote.txt": b"q\n"}  # fmt: skip
THEIRS = {"both.txt": b"1\n2\ntheirs\n", "template-only.txt": b"x2\n", "team-deleted.txt": b"d2\n",
          "template-new.txt": b"b\n", "odd name/q\"uote.txt": b"q2\n"}  # fmt: skip


def test_each_rule_of_the_merge() -> None:
    result = three_way_merge(BASE, OURS, THEIRS)
    assert result.files == {
        "both.txt": b"1\n2\n<<<<<<< ours\nours\n=======\ntheirs\n>>>>>>> theirs\n",
        "template-only.txt": b"x2\n",
        "template-new.txt": b"b\n",
        "team-new.txt": b"n\n",
        "template-deleted.txt": b"e, changed by the team\n",  # kept, and listed
        'odd name/q"uote.txt': b"q2\n",
    }  # team-deleted.txt stays deleted although the template changed it
    assert result.conflicts == ["both.txt"]
    assert result.kept == ["template-deleted.txt"]


def test_a_template_deletion_of_an_untouched_file_is_honoured() -> None:
    result = three_way_merge({"a": b"1\n", "b": b"2\n"}, {"a": b"1\n", "b": b"2\n"}, {"a": b"1\n"})
    assert result.files == {"a": b"1\n"}
    assert result.conflicts == []


def test_paths_that_leave_the_tree_are_refused() -> None:
    with pytest.raises(UnsafePath):
        three_way_merge({}, {"../outside": b"x"}, {})
