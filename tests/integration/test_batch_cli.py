"""`stf batch` as a person runs it: uploads to the local stack's incoming/, the trigger's handler,
every film exported with its batch summary, and the exit statuses."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from script_to_film.adapters import media
from script_to_film.adapters.providers.registry import register_provider, reset_providers
from stf.cli import main
from tests.fakes.scripted_provider import ScriptedProvider

from .test_batch import RefusingProvider

CARDS = media.TITLE_CARD_SECONDS + media.END_CARD_SECONDS
"""An animatic film opens on a title card and closes on an end card."""

EVENTS = Path(__file__).resolve().parents[2] / "events"
LIGHTHOUSE = EVENTS / "scripts" / "lighthouse.fountain"
TRAIN_STATION = EVENTS / "scripts" / "train-station.fountain"
DOUBLE_BILL = EVENTS / "batch" / "double-bill.json"


@pytest.fixture(autouse=True)
def _built_in_providers() -> Iterator[None]:
    yield
    reset_providers()


def stf_batch(*argv: str) -> int:
    """`stf batch …` as a person runs it."""
    return main(["batch", *argv])


def test_two_screenplays_become_two_films_exported_with_their_summaries(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status = stf_batch(
        str(LIGHTHOUSE), str(TRAIN_STATION), "--poll-seconds", "1", "--out", str(tmp_path), "--json"
    )

    assert status == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["status"] == "SUCCEEDED"
    assert [b["source"]["key"] for b in printed["batches"]] == [
        "incoming/lighthouse.fountain",
        "incoming/train-station.fountain",
    ]
    for summary, scenes in zip(printed["batches"], (3, 5), strict=True):
        (item,) = summary["items"]
        assert item["status"] == "SUCCEEDED"
        folder = tmp_path / item["video_id"]
        assert sorted(p.name for p in folder.iterdir()) == [
            "film.mp4",
            "manifest.json",
            *[f"scene_{n:03d}.mp4" for n in range(1, scenes + 1)],
        ]
        manifest = json.loads((folder / "manifest.json").read_text())
        assert manifest["status"] == "SUCCEEDED"
        film = media.probe(folder / "film.mp4")
        assert film.duration == pytest.approx(
            CARDS + sum(s["duration_seconds"] for s in manifest["scenes"]), abs=0.5
        )
        exported = tmp_path / summary["batch_id"]
        assert json.loads((exported / "summary.json").read_text()) == summary
        record = json.loads((exported / "batch.json").read_text())
        assert record["items"][0]["video_id"] == item["video_id"]


def test_a_manifest_with_a_failed_scene_exits_3_and_shows_the_table(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    register_provider("animatic", lambda: ScriptedProvider(fail={2: "SAFETY.INPUT.TEXT"}))

    status = stf_batch(str(DOUBLE_BILL), "--poll-seconds", "1", "--out", str(tmp_path))

    assert status == 3
    out, err = capsys.readouterr()
    assert "Double bill" in out
    assert "night-ferry" in out and "PARTIAL" in out
    assert "Kettle" in out and "SUCCEEDED" in out
    assert "night-ferry" in err, "progress goes to stderr"
    (batch_folder,) = tmp_path.glob("batch-*")
    summary = json.loads((batch_folder / "summary.json").read_text())
    assert summary["status"] == "PARTIAL"
    ferry, kettle = summary["items"]
    assert (ferry["name"], ferry["key"], ferry["status"]) == (
        "night-ferry",
        "library/night-ferry.fountain",
        "PARTIAL",
    )
    assert (kettle["name"], kettle["key"], kettle["status"]) == ("Kettle", None, "SUCCEEDED")
    assert f"  2 Kettle: {tmp_path / kettle['video_id'] / 'film.mp4'}\n" in out


def test_every_video_failing_exits_4(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    register_provider("animatic", RefusingProvider)

    status = stf_batch(str(LIGHTHOUSE), "--poll-seconds", "1", "--out", str(tmp_path), "--json")

    assert status == 4
    assert json.loads(capsys.readouterr().out)["status"] == "FAILED"


@pytest.mark.parametrize(
    ("files", "options", "message"),
    [
        (["lighthouse.fountain", "notes.fountain"], [], "notes.fountain: no scene headings"),
        (["lighthouse.txt"], [], "not a .fountain screenplay or a .json manifest"),
        (["missing.fountain"], [], "missing.fountain: no such file"),
        (["lighthouse.fountain", "other/lighthouse.fountain"], [], "names must differ"),
        (["lighthouse.fountain"], ["--poll-seconds", "0"], "--poll-seconds: '0' must be at least 1"),
        (["lighthouse.fountain"], ["--provider", "animatic", "--model", "gen4.5"], "belongs to provider"),
        (["lost.json"], [], "library/lost.fountain: no such file"),
        (["loop.json"], [], "screenplay 1: 'incoming/a.fountain' is not under library/"),
        (
            ["escape.json"],
            [],
            "screenplay 1: 'library/../lighthouse.fountain' has an empty, '.' or '..' part",
        ),
        (["typo.json"], [], "screenplay 1: options: stlye: Extra inputs are not permitted"),
        (["empty.json"], [], "screenplays: List should have at least 1 item"),
    ],
)
def test_bad_input_exits_2_before_anything_starts(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, files: list[str], options: list[str], message: str
) -> None:
    (tmp_path / "other").mkdir()
    for name in ("lighthouse.fountain", "lighthouse.txt", "other/lighthouse.fountain"):
        (tmp_path / name).write_bytes(LIGHTHOUSE.read_bytes())
    (tmp_path / "notes.fountain").write_text("Just notes, no scene.\n")
    (tmp_path / "lost.json").write_text(json.dumps({"screenplays": [{"key": "library/lost.fountain"}]}))
    (tmp_path / "loop.json").write_text(json.dumps({"screenplays": [{"key": "incoming/a.fountain"}]}))
    # lighthouse.fountain is there, beside the manifest, but not in its library/ folder.
    (tmp_path / "escape.json").write_text(
        json.dumps({"screenplays": [{"key": "library/../lighthouse.fountain"}]})
    )
    (tmp_path / "typo.json").write_text(
        json.dumps({"screenplays": [{"text": "INT. A - DAY\n", "options": {"stlye": "x"}}]})
    )
    (tmp_path / "empty.json").write_text(json.dumps({"screenplays": []}))
    out = tmp_path / "out"

    status = stf_batch(*(str(tmp_path / f) for f in files), *options, "--out", str(out))

    assert status == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert line.startswith("error: ")
    assert message in line
    assert not out.exists()
