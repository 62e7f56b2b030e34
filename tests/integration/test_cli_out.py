"""A `--out` that cannot hold the films is refused before anything is made, by `stf run` and
`stf batch` alike: exit 2, one `error:` line, no stack started, nothing written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from infra.local.stack import LocalStack
from stf.cli import main

REPO = Path(__file__).resolve().parents[2]
LIGHTHOUSE = REPO / "events" / "scripts" / "lighthouse.fountain"


@pytest.fixture(autouse=True)
def no_stack_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: LocalStack) -> LocalStack:
        raise AssertionError("the local stack was started for a bad --out")

    monkeypatch.setattr(LocalStack, "__enter__", refuse)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in folder.rglob("*") if path.is_file()}


def refused(capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str]) -> str:
    before = snapshot(tmp_path)

    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    assert captured.out == ""
    assert snapshot(tmp_path) == before, "nothing is written"
    return lines[0]


@pytest.mark.parametrize("command", ["run", "batch"])
def test_an_out_that_is_a_file_is_refused_before_anything_runs(
    command: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    taken = tmp_path / "film.mp4"
    taken.write_bytes(b"an earlier film")

    line = refused(capsys, tmp_path, [command, str(LIGHTHOUSE), "--out", str(taken)])

    assert line == f"error: argument --out: {taken}: is a file, not a folder"


@pytest.mark.parametrize("command", ["run", "batch"])
def test_an_out_below_a_file_is_refused(
    command: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "notes.txt").write_text("not a folder", encoding="utf-8")
    out = tmp_path / "notes.txt" / "films"

    line = refused(capsys, tmp_path, [command, str(LIGHTHOUSE), "--out", str(out)])

    assert f"{tmp_path / 'notes.txt'} is a file, not a folder" in line


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes anywhere")
@pytest.mark.parametrize("command", ["run", "batch"])
def test_an_out_that_cannot_be_written_is_refused(
    command: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        line = refused(capsys, tmp_path, [command, str(LIGHTHOUSE), "--out", str(locked / "films")])
    finally:
        locked.chmod(0o755)

    assert "cannot write there (permission denied" in line


def test_an_out_that_does_not_exist_yet_is_fine(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(LIGHTHOUSE), "--out", str(tmp_path / "new" / "films")]) == 1
    assert "the local stack was started" in capsys.readouterr().err, "the run got as far as starting"
    assert not (tmp_path / "new").exists(), "made when the films are exported, not before"
