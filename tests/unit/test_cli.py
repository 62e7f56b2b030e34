"""`stf breakdown` and `stf estimate`: the JSON contract, the tables and the one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from script_to_film.domain.catalog import get_model
from stf.cli import main

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "events" / "scripts").glob("*.fountain"))
TRAIN_STATION = REPO / "events" / "scripts" / "train-station.fountain"

COVERAGE_KEYS = ("number", "kind", "subject", "lines")
SCENE_KEYS = {
    "shots",
    "seconds",
    "number",
    "scene_number",
    "heading",
    "int_ext",
    "location",
    "time_of_day",
    "characters",
    "dialogue",
    "action",
    "estimated_seconds",
    "shot",
}


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_breakdown_json_is_exactly_the_contract(capsys: pytest.CaptureFixture[str], path: Path) -> None:
    out = run_json(capsys, "breakdown", str(path))

    # The contract's fields, and coverage's additions: the film's length and shots.
    assert set(out) == {"title", "scenes", "total_seconds", "estimate", "film_seconds", "shot_count"}
    assert set(out["estimate"]) == {"provider", "model", "credits", "usd", "shots", "seconds"}
    assert out["scenes"], "every example has scenes"
    for index, scene in enumerate(out["scenes"], start=1):
        assert set(scene) == SCENE_KEYS
        assert scene["number"] == index
        assert scene["int_ext"] in {"INT", "EXT", "INT/EXT", "EST", None}
        assert set(scene["shot"]) == {"camera", "lighting", "prompt", "duration", "ratio", "model"}
        assert isinstance(scene["shot"]["duration"], int)
        assert scene["shots"][0] == {
            **scene["shot"],
            **{key: scene["shots"][0][key] for key in COVERAGE_KEYS},
        }
        assert [shot["number"] for shot in scene["shots"]] == list(range(1, len(scene["shots"]) + 1))
        assert scene["seconds"] == sum(shot["duration"] for shot in scene["shots"])
        for line in scene["dialogue"]:
            assert set(line) == {"character", "parenthetical", "text", "dual"}
    assert out["total_seconds"] == sum(scene["estimated_seconds"] for scene in out["scenes"])
    assert (
        out["film_seconds"] == out["estimate"]["seconds"] == sum(scene["seconds"] for scene in out["scenes"])
    )
    assert (
        out["shot_count"] == out["estimate"]["shots"] == sum(len(scene["shots"]) for scene in out["scenes"])
    )


def test_breakdown_of_the_train_station_example(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(capsys, "breakdown", str(TRAIN_STATION))

    assert out["title"] == "The 6:40 to Harrow"
    headings = [scene["heading"] for scene in out["scenes"]]
    assert headings == [
        "EXT. HARROW STATION - PLATFORM 2 - DAWN",
        "INT. TRAIN CARRIAGE - CONTINUOUS",
        "EXT. HARROW STATION - PLATFORM 2 - MORNING",
        "INT. STATION CAFE - DAY",
        "EXT. HARROW STATION - PLATFORM 2 - SUNSET",
    ]
    first, carriage, reunion, cafe, _ = out["scenes"]
    assert (first["int_ext"], first["location"], first["time_of_day"]) == (
        "EXT",
        "HARROW STATION - PLATFORM 2",
        "DAWN",
    )
    assert carriage["characters"] == ["JONAH"]
    assert carriage["dialogue"][0]["parenthetical"] == "(to himself)"
    assert carriage["shot"]["camera"].lower().startswith("close-up")  # from the [[camera: …]] note
    assert reunion["characters"] == ["MARA", "JONAH"]
    assert [line["dual"] for line in reunion["dialogue"]] == [False, True, True]
    assert "mara" not in cafe["shot"]["prompt"].lower(), "people are described, not named"
    model = get_model("gen4.5")
    film_seconds = sum(shot["duration"] for s in out["scenes"] for shot in s["shots"])
    assert out["estimate"] == {
        "provider": "runway",
        "model": "gen4.5",
        "credits": pytest.approx(film_seconds * model.credits_per_second),
        "usd": pytest.approx(out["estimate"]["credits"] * 0.01, abs=0.005),
        "shots": sum(len(s["shots"]) for s in out["scenes"]),
        "seconds": film_seconds,
    }


def test_breakdown_honours_model_and_style(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(capsys, "breakdown", str(TRAIN_STATION), "--model", "veo3.1_fast", "--style", "film noir")

    assert out["estimate"]["model"] == "veo3.1_fast"
    for scene in out["scenes"]:
        assert scene["shot"]["model"] == "veo3.1_fast"
        assert scene["shot"]["duration"] in get_model("veo3.1_fast").durations


def test_breakdown_table_is_readable(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    assert main(["breakdown", str(TRAIN_STATION), "--prompts"]) == 0
    out = capsys.readouterr().out
    assert "The 6:40 to Harrow" in out
    assert "INT. STATION CAFE - DAY" in out
    assert "credits" in out
    assert "Wide establishing shot:" in out, "--prompts prints each shot's prompt"


def test_estimate_json_prices_every_scene(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(capsys, "estimate", str(TRAIN_STATION))

    assert out["model"] == "gen4.5"
    assert len(out["scenes"]) == 5
    assert out["credits"] == pytest.approx(sum(scene["credits"] for scene in out["scenes"]))
    assert out["usd"] == pytest.approx(sum(scene["usd"] for scene in out["scenes"]), abs=0.05)


def test_estimate_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["estimate", str(TRAIN_STATION), "--model", "animatic"]) == 0
    out = capsys.readouterr().out
    assert "Total" in out
    assert "$0.00" in out


def one_error_line(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error: ")
    return lines[0]


def test_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    line = one_error_line(capsys, ["breakdown", str(tmp_path / "nope.fountain")])
    assert "no such file" in line


def test_directory_instead_of_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert "is a directory" in one_error_line(capsys, ["estimate", str(tmp_path)])


def test_bytes_that_are_not_text(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "film.fountain"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")
    assert "UTF-8" in one_error_line(capsys, ["breakdown", str(path)])


def test_text_without_scene_headings(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "notes.fountain"
    path.write_text("Just some thoughts about a film.\n\nNothing here is a scene.\n", encoding="utf-8")
    assert "no scene headings found" in one_error_line(capsys, ["breakdown", str(path)])


def test_unknown_model(capsys: pytest.CaptureFixture[str]) -> None:
    line = one_error_line(capsys, ["breakdown", str(TRAIN_STATION), "--model", "gen3a_turbo"])
    assert "gen3a_turbo" in line


def test_unknown_style(capsys: pytest.CaptureFixture[str]) -> None:
    assert "style" in one_error_line(capsys, ["breakdown", str(TRAIN_STATION), "--style", "sepia-vaporwave"])


def test_over_budget(capsys: pytest.CaptureFixture[str]) -> None:
    line = one_error_line(capsys, ["estimate", str(TRAIN_STATION), "--max-budget-usd", "0.10"])
    assert "budget" in line


def test_an_unknown_voice_or_a_voice_for_nobody_is_refused_before_the_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = ["--out", str(tmp_path)]
    line = one_error_line(capsys, ["run", str(TRAIN_STATION), "--voice", "MARA=robot-9", *out])
    assert "unknown voice 'robot-9'" in line
    line = one_error_line(capsys, ["run", str(TRAIN_STATION), "--voice", "NOBODY=en-f-1", *out])
    assert "no character of that name speaks" in line and "MARA" in line
    assert not any(tmp_path.iterdir()), "nothing was made"


def test_usage_mistakes_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    one_error_line(capsys, ["breakdown"])
    one_error_line(capsys, ["no-such-command"])
    one_error_line(capsys, ["estimate", str(TRAIN_STATION), "--max-budget-usd", "ten"])


def test_module_entry_point_runs_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "empty.fountain"
    path.write_text("", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "stf", "breakdown", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: ")
    assert "Traceback" not in result.stderr
