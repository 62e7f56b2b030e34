"""Animatic renders never starve the process that makes them: each runs at a lower CPU priority,
and only one per CPU runs at a time (`stf serve` answers requests while ten films render).

ffmpeg is replaced by a small script that reports what it was given: its niceness, and how many
of it run at once.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import pytest

from script_to_film.adapters import media
from script_to_film.domain.models import Scene, Shot

pytestmark = pytest.mark.skipif(not hasattr(os, "setpriority"), reason="POSIX niceness")

BOUND_SECONDS = 20


def fake_ffmpeg(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "ffmpeg"
    script.write_text(f"#!{sys.executable}\nimport os, sys, time\n{body}", encoding="utf-8")
    script.chmod(0o755)
    return script


def scene_and_shot(number: int = 1) -> tuple[Scene, Shot]:
    scene = Scene(
        number=number, heading="INT. KITCHEN - NIGHT", estimated_seconds=2, action="A kettle boils."
    )
    shot = Shot(
        scene=number,
        camera="Static wide shot",
        lighting="night",
        environment="kitchen",
        style="realistic",
        prompt="A kettle boils.",
        duration=2,
        ratio="1280:720",
        model="animatic",
        provider="animatic",
    )
    return scene, shot


def test_a_render_runs_at_a_lower_cpu_priority(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = os.getpriority(os.PRIO_PROCESS, 0)
    # The priority is lowered from outside just after the start: wait for it, then report it.
    reporter = fake_ffmpeg(
        tmp_path,
        f"deadline = time.monotonic() + {BOUND_SECONDS}\n"
        f"while os.getpriority(os.PRIO_PROCESS, 0) == {base} and time.monotonic() < deadline:\n"
        "    time.sleep(0.01)\n"
        "open(sys.argv[-1], 'w').write(str(os.getpriority(os.PRIO_PROCESS, 0)))\n",
    )
    monkeypatch.setattr(media, "_ffmpeg", lambda: str(reporter))

    out = media.render_animatic(*scene_and_shot(), tmp_path / "clip.mp4")

    assert int(out.read_text()) == min(19, base + media.BACKGROUND_NICENESS)
    assert os.getpriority(os.PRIO_PROCESS, 0) == base, "this process keeps its own priority"


def test_renders_run_one_per_cpu_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    running, release = tmp_path / "running", tmp_path / "release"
    running.mkdir()
    holder = fake_ffmpeg(
        tmp_path,
        f"marker = os.path.join({str(running)!r}, str(os.getpid()))\n"
        "open(marker, 'w').close()\n"
        f"deadline = time.monotonic() + {BOUND_SECONDS}\n"
        f"while not os.path.exists({str(release)!r}) and time.monotonic() < deadline:\n"
        "    time.sleep(0.01)\n"
        "os.remove(marker)\n"
        "open(sys.argv[-1], 'w').write('clip')\n",
    )
    monkeypatch.setattr(media, "_ffmpeg", lambda: str(holder))
    cpus = os.cpu_count() or 1
    renders = [
        threading.Thread(target=media.render_animatic, args=(*scene_and_shot(n), tmp_path / f"scene_{n}.mp4"))
        for n in range(1, 2 * cpus + 1)
    ]
    for render in renders:
        render.start()
    try:
        deadline = time.monotonic() + BOUND_SECONDS
        while len(list(running.iterdir())) < cpus:
            assert time.monotonic() < deadline, "the renders never started"
            time.sleep(0.01)
        slot_left = media._BACKGROUND_SLOTS.acquire(blocking=False)
        if slot_left:
            media._BACKGROUND_SLOTS.release()
        at_once = len(list(running.iterdir()))
    finally:
        release.touch()
        for render in renders:
            render.join(BOUND_SECONDS)

    assert not slot_left, "every slot is taken: the other renders wait"
    assert at_once == cpus
    assert all((tmp_path / f"scene_{n}.mp4").read_text() == "clip" for n in range(1, 2 * cpus + 1))
