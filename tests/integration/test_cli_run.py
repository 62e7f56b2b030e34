"""`stf run` as a person runs it: the files it writes, the manifest it prints, its exit statuses."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.local.stack import LocalStack
from script_to_film.adapters import media
from script_to_film.adapters.providers.registry import register_provider, reset_providers
from script_to_film.domain.limits import MAX_SCENES
from stf.cli import main
from tests.fakes.scripted_provider import ScriptedProvider

CARDS = media.TITLE_CARD_SECONDS + media.END_CARD_SECONDS
"""An animatic film opens on a title card and closes on an end card."""

REPO = Path(__file__).resolve().parents[2]
TRAIN_STATION = REPO / "events" / "scripts" / "train-station.fountain"
LIGHTHOUSE = REPO / "events" / "scripts" / "lighthouse.fountain"
MANIFEST_KEYS = {"video_id", "status", "execution", "film", "scenes", "cost", "failure", "left_out", "limits"}
SCENE_KEYS = {
    "number",
    "heading",
    "status",
    "clip",
    "duration_seconds",
    "provider_task_id",
    "attempts",
    "failure_code",
    "failure",
    "note",
    "shots",
}
SHOT_KEYS = {
    "number",
    "kind",
    "status",
    "duration_seconds",
    "lines",
    "provider_task_id",
    "attempts",
    "failure_code",
    "failure",
    "credits",
}


@pytest.fixture(autouse=True)
def _built_in_providers() -> Iterator[None]:
    yield
    reset_providers()


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    status = main(["run", *argv, "--poll-seconds", "1", "--json"])
    return status, json.loads(capsys.readouterr().out)


def test_run_makes_the_film_and_prints_the_manifest(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, manifest = run_json(capsys, str(TRAIN_STATION), "--out", str(tmp_path))

    assert status == 0
    assert set(manifest) == MANIFEST_KEYS
    assert manifest["status"] == "SUCCEEDED"
    assert manifest["execution"].endswith(f":execution:script-to-film:{manifest['video_id']}")
    folder = tmp_path / manifest["video_id"]
    assert sorted(p.name for p in folder.iterdir()) == [
        "film.mp4",
        "manifest.json",
        *[f"scene_{n:03d}.mp4" for n in range(1, 6)],
    ]
    assert json.loads((folder / "manifest.json").read_text()) == manifest
    for scene in manifest["scenes"]:
        assert set(scene) == SCENE_KEYS
        assert all(set(shot) == SHOT_KEYS for shot in scene["shots"])
        assert scene["duration_seconds"] == sum(shot["duration_seconds"] for shot in scene["shots"])
        clip = media.probe(folder / scene["clip"])
        assert clip.duration == pytest.approx(scene["duration_seconds"], abs=0.1)
        assert (clip.width, clip.height) == (1280, 720)
    film = media.probe(folder / "film.mp4")
    assert film.duration == pytest.approx(
        CARDS + sum(s["duration_seconds"] for s in manifest["scenes"]), abs=0.5
    )
    assert manifest["cost"] == {"estimated_usd": 0.0, "credits": 0}


def test_a_failed_scene_exits_3_with_the_rest_stitched(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    register_provider("animatic", lambda: ScriptedProvider(fail={2: "SAFETY.INPUT.TEXT"}))

    status, manifest = run_json(capsys, str(LIGHTHOUSE), "--out", str(tmp_path))

    assert status == 3
    assert manifest["status"] == "PARTIAL"
    assert [s["status"] for s in manifest["scenes"]] == ["SUCCEEDED", "FAILED", "SUCCEEDED"]
    assert manifest["scenes"][1]["failure_code"] == "SAFETY.INPUT.TEXT"
    assert manifest["scenes"][1]["clip"] is None
    assert (tmp_path / manifest["video_id"] / "film.mp4").exists()


def test_every_scene_failing_exits_4(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    register_provider(
        "animatic", lambda: ScriptedProvider(fail={1: "SAFETY.OUTPUT.VIDEO", 3: "SAFETY.OUTPUT.VIDEO"})
    )

    status, manifest = run_json(capsys, str(LIGHTHOUSE), "--out", str(tmp_path), "--scenes", "1,3")

    assert status == 4
    assert manifest["status"] == "FAILED"
    assert manifest["film"] is None
    assert [s["number"] for s in manifest["scenes"]] == [1, 3]


def test_the_table_and_progress_for_a_person(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["run", str(LIGHTHOUSE), "--poll-seconds", "1", "--out", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert "SUCCEEDED, 3 of 3 scenes" in captured.out
    assert "film.mp4" in captured.out
    assert "EXT. LIGHTHOUSE - NIGHT - STORM" in captured.err, "per-scene progress goes to stderr"


def bad_input(capsys: pytest.CaptureFixture[str], out: Path, *argv: str) -> str:
    assert main(["run", *argv, "--out", str(out)]) == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    assert captured.out == ""
    assert not out.exists(), "nothing is generated for bad input"
    return lines[0]


def test_nine_scenes_at_one_second_polls_and_the_default_scene_timeout_are_filmed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # One execution recording every poll refused this: 9 scenes x 300 polls passed its history.
    nine = tmp_path / "nine-rooms.fountain"
    nine.write_text("\n".join(f"INT. ROOM {n} - DAY\n\nA clock ticks in room {n}.\n" for n in range(1, 10)))

    status, manifest = run_json(capsys, str(nine), "--out", str(tmp_path / "out"))

    assert status == 0, manifest
    assert manifest["status"] == "SUCCEEDED"
    assert [scene["status"] for scene in manifest["scenes"]] == ["SUCCEEDED"] * 9


def test_too_many_scenes_is_refused_before_anything_runs(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    big = tmp_path / "epic.fountain"
    big.write_text(
        "\n".join(f"INT. ROOM {n} - DAY\n\nA clock ticks.\n" for n in range(1, MAX_SCENES + 2)),
        encoding="utf-8",
    )

    line = bad_input(capsys, tmp_path / "out", str(big))

    assert f"{MAX_SCENES + 1} scenes is more than one film can have ({MAX_SCENES})" in line


def test_other_bad_input(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert "no scene 9" in bad_input(capsys, out, str(LIGHTHOUSE), "--scenes", "1,9")
    assert "scene numbers" in bad_input(capsys, out, str(LIGHTHOUSE), "--scenes", "three")
    assert "at least 1" in bad_input(capsys, out, str(LIGHTHOUSE), "--poll-seconds", "0")
    assert "budget" in bad_input(capsys, out, str(LIGHTHOUSE), "--max-budget-usd", "-1")
    assert "no such file" in bad_input(capsys, out, str(tmp_path / "missing.fountain"))
    assert "invalid choice" in bad_input(capsys, out, str(LIGHTHOUSE), "--provider", "gen3")
    assert "belongs to provider" in bad_input(capsys, out, str(LIGHTHOUSE), "--model", "gen4.5")


# The user's AWS settings never reach the local stack -----------------------------------------------

STF = "import sys; from stf.cli import main; sys.exit(main())"
ONE_SCENE_FAST = ("--scenes", "1", "--poll-seconds", "1")


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def hostile_aws(tmp_path: Path) -> dict[str, str]:
    """Settings a developer's shell may hold, each of which would break a run that read it."""
    unreadable = tmp_path / "aws-config"
    unreadable.write_text("[profile personal\nregion = eu-west-3\n", encoding="utf-8")
    return {
        "AWS_PROFILE": "nonexistent",
        "AWS_DEFAULT_PROFILE": "nonexistent",
        "AWS_CONFIG_FILE": str(unreadable),
        "AWS_SHARED_CREDENTIALS_FILE": str(unreadable),
        "AWS_REGION": "eu-west-3",
        "AWS_DEFAULT_REGION": "eu-west-3",
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{closed_port()}",
        "AWS_ENDPOINT_URL_DYNAMODB": f"http://127.0.0.1:{closed_port()}",
        "AWS_CA_BUNDLE": str(tmp_path / "no-such-bundle.pem"),
    }


@pytest.mark.parametrize("kind", ["empty profile", "everything wrong"])
def test_run_never_reads_the_users_aws_profile_credentials_or_region(
    kind: str, hostile_aws: dict[str, str], tmp_path: Path
) -> None:
    settings = {"AWS_PROFILE": ""} if kind == "empty profile" else hostile_aws
    out = tmp_path / "out"
    completed = subprocess.run(
        [sys.executable, "-c", STF, "run", str(LIGHTHOUSE), *ONE_SCENE_FAST, "--out", str(out), "--json"],
        cwd=REPO,
        env={**os.environ, **settings},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    manifest = json.loads(completed.stdout)
    assert manifest["status"] == "SUCCEEDED"
    assert manifest["execution"].startswith("arn:aws:states:us-east-1:")
    assert (out / manifest["video_id"] / "film.mp4").exists()


def test_the_users_aws_settings_are_hidden_while_the_stack_runs_and_restored_after(
    hostile_aws: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in hostile_aws.items():
        monkeypatch.setenv(name, value)

    with LocalStack():
        inside = dict(os.environ)

    assert {name: inside.get(name) for name in hostile_aws} == {
        "AWS_PROFILE": None,
        "AWS_DEFAULT_PROFILE": None,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": None,
        "AWS_ENDPOINT_URL_DYNAMODB": None,
        "AWS_CA_BUNDLE": None,
    }
    assert {name: os.environ.get(name) for name in hostile_aws} == hostile_aws


# Ctrl-C keeps what was made ------------------------------------------------------------------------


def test_ctrl_c_cancels_the_run_and_keeps_the_clips_already_made(tmp_path: Path) -> None:
    out = tmp_path / "out"
    # One scene at a time, each "generating" for 2 s: the film is far from done when scene 1 is.
    slow = {"STF_ANIMATIC_LATENCY_SECONDS": "2", "STF_ANIMATIC_CONCURRENCY": "1"}
    process = subprocess.Popen(
        [sys.executable, "-c", STF, "run", str(TRAIN_STATION), "--poll-seconds", "1", "--out", str(out)],
        cwd=REPO,
        env={**os.environ, **slow},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        progress = []
        for line in process.stderr:
            progress.append(line)
            if re.fullmatch(r"\s*1 .*: SUCCEEDED", line.rstrip()):
                break
        else:
            pytest.fail(f"scene 1 never succeeded: {''.join(progress)}")
        process.send_signal(signal.SIGINT)
        _, rest = process.communicate(timeout=180)
    finally:
        if process.poll() is None:
            process.kill()

    assert process.returncode == 130, rest
    (folder,) = out.iterdir()
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "CANCELLED"
    assert manifest["film"] is None
    kept = [scene for scene in manifest["scenes"] if scene["clip"]]
    assert kept[0]["number"] == 1
    assert {scene["status"] for scene in kept} == {"SUCCEEDED"}
    assert len(kept) < len(manifest["scenes"]), "the run was stopped before its end"
    assert {scene["status"] for scene in manifest["scenes"] if not scene["clip"]} == {"CANCELLED"}
    assert sorted(path.name for path in folder.iterdir()) == sorted(
        ["manifest.json", *(scene["clip"] for scene in kept)]
    )
    for scene in kept:
        assert media.probe(folder / scene["clip"]).duration == pytest.approx(
            scene["duration_seconds"], abs=0.1
        )
    assert (
        f"interrupted: video {manifest['video_id']} is CANCELLED; kept {len(kept)} of "
        f"{len(manifest['scenes'])} clips and the manifest in {folder}"
    ) in rest
    assert "Traceback" not in rest, rest
