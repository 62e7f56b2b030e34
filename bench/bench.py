"""`make bench`: the figures the README quotes, measured on this machine.

1. Breakdown: `stf breakdown` of the largest public screenplay (Big Fish, 146 KB), as a person
   runs it (a new process each time, interpreter start-up included), and the parse alone.
2. Film: a 9-scene film on the embedded local stack whose provider takes 5 s per clip, polled
   every second, with the Map fanned out 9 wide against the same film one scene at a time.
3. Stitching: 9 clips of 8 s at 1280x720, joined by stream copy against a full re-encode.
4. Runway: the same 9-scene film through the real Runway provider and the unmodified `runwayml`
   SDK against the fake Runway API (tests/fakes), 5 s per clip, polled every second: the fake's
   organization reports 9 concurrent generations and nothing is configured, against the same
   film capped at one at a time by STF_RUNWAY_CONCURRENCY=1.
5. Direction: one scene of 6,000 speeches (direction was quadratic in a scene's speeches: 51 s),
   and the largest script the API stores (a megabyte, 2,000 scenes), parsed, directed and priced.
6. Feature: Big Fish (190 scenes) filmed on the local stack with the animatic and 1 s polls, and
   its first 10 and 100 scenes: wall time, and the film execution's history events, which grow
   by a constant per scene (each scene's polls are in its own execution's history).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"
BIG_FISH = CORPUS / "Big-Fish.fountain"
TRAIN_STATION = REPO / "events" / "scripts" / "train-station.fountain"

PROVIDER_LATENCY_SECONDS = 5
POLL_SECONDS = 1
SCENES = 9
FEATURE_SCENES = (10, 100, 190)


def nine_scene_screenplay() -> str:
    times = ["DAWN", "MORNING", "DAY", "AFTERNOON", "DUSK", "SUNSET", "EVENING", "NIGHT", "MIDNIGHT"]
    scenes = [
        f"EXT. PLATFORM {n} - {time_of_day}\n\nA train pulls in. MARA (70s) waits on bench {n}.\n\n"
        f"MARA\nNumber {n}, right on time.\n"
        for n, time_of_day in enumerate(times, start=1)
    ]
    return "Title: Nine Platforms\n\n" + "\n".join(scenes)


def bench_breakdown(rows: list[tuple[str, str, str]], repeats: int) -> None:
    from script_to_film.domain.breakdown import plan

    script = BIG_FISH if BIG_FISH.exists() else TRAIN_STATION
    stf = [sys.executable, "-m", "stf", "breakdown", str(script), "--json"]
    walls = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(stf, check=True, capture_output=True)
        walls.append(time.perf_counter() - start)
    data = script.read_bytes()
    inner = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = plan(data)
        inner.append(time.perf_counter() - start)
    rows.append(
        (
            f"stf breakdown {script.name} --json ({len(data) // 1024} KB, {len(result.shots)} scenes)",
            f"{statistics.median(walls):.2f} s",
            f"median of {repeats} runs, new process each; parse+direct+estimate alone "
            f"{statistics.median(inner) * 1000:.0f} ms",
        )
    )


def one_scene_of_speeches(speeches: int) -> str:
    lines = "".join(f"{('MARA', 'JONAH')[n % 2]}\nLine {n}.\n\n" for n in range(speeches))
    return f"INT. WAITING ROOM - NIGHT\n\nMARA (70s) waits. JONAH (40s) paces.\n\n{lines}"


def largest_script() -> str:
    from script_to_film.domain.limits import MAX_SCREENPLAY_BYTES, MAX_SCRIPT_SCENES

    per_scene = MAX_SCREENPLAY_BYTES // MAX_SCRIPT_SCENES
    scene = "INT. ROOM {n:04d} - NIGHT\n\nMARA (30s) waits by the door. She listens.\n\nMARA\nHello?\n\n"
    padding = "x" * (per_scene - len(scene.format(n=0)) - 3)
    return "".join(
        scene.format(n=n).replace("listens.", f"listens. {padding}") for n in range(MAX_SCRIPT_SCENES)
    )


def bench_direction(rows: list[tuple[str, str, str]], repeats: int) -> None:
    from script_to_film.domain import director, screenplay
    from script_to_film.domain.breakdown import plan
    from script_to_film.domain.limits import MAX_SCRIPT_SCENES

    conversation = one_scene_of_speeches(6_000)
    parsed = screenplay.parse(conversation)
    directing = []
    for _ in range(repeats):
        start = time.perf_counter()
        director.direct(parsed)
        directing.append(time.perf_counter() - start)
    largest = largest_script()
    planning = []
    for _ in range(repeats):
        start = time.perf_counter()
        plan(largest, max_scenes=MAX_SCRIPT_SCENES)
        planning.append(time.perf_counter() - start)
    rows.append(
        (
            f"direct one scene of 6,000 speeches ({len(conversation.encode()) // 1024} KB)",
            f"{statistics.median(directing) * 1000:.0f} ms",
            f"median of {repeats}; the largest script stored ({len(largest.encode()) // 1024} KB, "
            f"{MAX_SCRIPT_SCENES:,} scenes) parsed, directed and priced: "
            f"{statistics.median(planning):.2f} s",
        )
    )


def bench_film(rows: list[tuple[str, str, str]]) -> None:
    from infra.local.stack import LocalStack
    from script_to_film.adapters.providers.registry import reset_providers
    from script_to_film.domain.options import VideoOptions
    from script_to_film.services.submission import start_video

    options = VideoOptions(provider="animatic", poll_seconds=POLL_SECONDS, scene_timeout_seconds=120)
    walls, executions = {}, {}
    for label, concurrency in (("parallel", SCENES), ("sequential", 1)):
        # The animatic's account allows STF_ANIMATIC_CONCURRENCY at once (default 4: it renders
        # on the CPU); here it is the film's width, so the Map alone sets the pace.
        reset_providers()
        environment = {
            "STF_ANIMATIC_LATENCY_SECONDS": str(PROVIDER_LATENCY_SECONDS),
            "STF_ANIMATIC_CONCURRENCY": str(concurrency),
        }
        with LocalStack(environment) as stack:
            start = time.perf_counter()
            video = start_video(stack.backend, nine_scene_screenplay(), options, max_concurrency=concurrency)
            final = stack.wait(video, interval=0.1)
            walls[label] = time.perf_counter() - start
            assert final.status.value == "SUCCEEDED", final.status
            events = stack.history(str(video.execution_arn))
            executions[label] = (events[-1]["timestamp"] - events[0]["timestamp"]).total_seconds()
    ideal = PROVIDER_LATENCY_SECONDS + POLL_SECONDS
    slower = walls["sequential"] / walls["parallel"]
    rows.append(
        (
            f"{SCENES}-scene film, provider latency {PROVIDER_LATENCY_SECONDS} s, "
            f"poll {POLL_SECONDS} s, Map {SCENES} wide",
            f"{walls['parallel']:.1f} s",
            f"execution {executions['parallel']:.1f} s "
            f"(aim: 1.5 × {ideal} s = {1.5 * ideal:.0f} s plus start-up); "
            f"one scene at a time: {walls['sequential']:.1f} s, {slower:.1f}× slower",
        )
    )


def bench_runway(rows: list[tuple[str, str, str]]) -> None:
    # The fake Runway API lives with the tests, which are not an installed package.
    sys.path.insert(0, str(REPO))
    from infra.local.stack import LocalStack
    from script_to_film.adapters.providers.registry import reset_providers
    from script_to_film.domain.options import VideoOptions
    from script_to_film.services.submission import start_video
    from tests.fakes.runway_api import Behaviour, FakeRunway

    os.environ.pop("STF_RUNWAY_CONCURRENCY", None)
    options = VideoOptions(provider="runway", poll_seconds=POLL_SECONDS, scene_timeout_seconds=120)
    walls, executions, widths = {}, {}, {}
    latency = Behaviour(latency=PROVIDER_LATENCY_SECONDS)
    # The account's tier allows nine at once and nothing is configured: the preflight reads the
    # nine from `GET /v1/organization`. Against it, STF_RUNWAY_CONCURRENCY=1 caps the same film.
    with FakeRunway(default=latency) as fake:
        fake.set_tier("gen4.5", max_concurrent=SCENES, max_daily=None)
        for label, cap in (("tier", {}), ("one at a time", {"STF_RUNWAY_CONCURRENCY": "1"})):
            reset_providers()  # a client for this fake, made at the first call
            with LocalStack({**fake.env(), **cap}) as stack:
                start = time.perf_counter()
                video = start_video(stack.backend, nine_scene_screenplay(), options)
                final = stack.wait(video, interval=0.1)
                walls[label] = time.perf_counter() - start
                assert final.status.value == "SUCCEEDED", final.status
                widths[label] = final.concurrency
                events = stack.history(str(video.execution_arn))
                executions[label] = (events[-1]["timestamp"] - events[0]["timestamp"]).total_seconds()
        paid = len(fake.paid_creates())
    reset_providers()
    speed_up = walls["one at a time"] / walls["tier"]
    rows.append(
        (
            f"{SCENES}-scene film via the Runway provider and SDK against the fake API, "
            f"{PROVIDER_LATENCY_SECONDS} s per clip, poll {POLL_SECONDS} s, the tier's concurrency "
            f"({widths['tier']}, read from the account; nothing configured)",
            f"{walls['tier']:.1f} s",
            f"execution {executions['tier']:.1f} s; STF_RUNWAY_CONCURRENCY=1: "
            f"{walls['one at a time']:.1f} s (execution {executions['one at a time']:.1f} s): "
            f"{speed_up:.1f}× faster at the tier (aim ≥ 5×); {paid} paid creates for {2 * SCENES} clips",
        )
    )


def bench_feature(rows: list[tuple[str, str, str]]) -> None:
    from infra.local.stack import LocalStack
    from script_to_film.domain.options import VideoOptions
    from script_to_film.services.submission import start_video

    if not BIG_FISH.exists():
        rows.append(("the Big Fish film", "skipped", f"{BIG_FISH.name} is not in ../shared/corpus"))
        return
    text = BIG_FISH.read_text(encoding="utf-8")
    measured: dict[int, tuple[float, int, int]] = {}
    for count in FEATURE_SCENES:
        scenes = None if count == FEATURE_SCENES[-1] else list(range(1, count + 1))
        options = VideoOptions(provider="animatic", poll_seconds=POLL_SECONDS, scenes=scenes)
        with LocalStack() as stack:
            start = time.perf_counter()
            video = start_video(stack.backend, text, options)
            final = stack.wait(video, interval=0.5)
            wall = time.perf_counter() - start
            assert final.status.value == "SUCCEEDED", final.status
            assert len(final.scenes) == count, len(final.scenes)
            parent = len(stack.history(str(video.execution_arn)))
            children = stack.scene_executions(video.id)
            largest_child = max(len(stack.history(arn)) for arn in children.values())
            measured[count] = (wall, parent, largest_child)
    first, last = FEATURE_SCENES[0], FEATURE_SCENES[-1]
    per_scene = (measured[last][1] - measured[first][1]) / (last - first)
    fixed = measured[first][1] - per_scene * first
    for count, (wall, parent, largest_child) in measured.items():
        rows.append(
            (
                f"Big Fish, first {count} scenes" if count != last else f"Big Fish, all {count} scenes",
                f"{wall:.0f} s",
                f"animatic, poll {POLL_SECONDS} s, 4 wide; film execution: {parent:,} history events "
                f"(= {fixed:.0f} + {per_scene:.0f} per scene); the longest scene execution: "
                f"{largest_child} events",
            )
        )


def bench_stitch(rows: list[tuple[str, str, str]]) -> None:
    from script_to_film.adapters import media
    from script_to_film.domain.director import direct
    from script_to_film.domain.screenplay import parse

    screenplay = parse(nine_scene_screenplay())
    masters = [shot for shot in direct(screenplay, model="animatic") if shot.number == 1]
    shots = [shot.model_copy(update={"duration": 8, "ratio": "1280:720"}) for shot in masters]
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        clips = [
            media.render_animatic(scene, shot, folder / f"scene_{scene.number:03d}.mp4")
            for scene, shot in zip(screenplay.scenes, shots, strict=True)
        ]
        start = time.perf_counter()
        media.stitch(clips, folder / "film.mp4")
        copy = time.perf_counter() - start
        start = time.perf_counter()
        media.reencode_all(clips, folder / "film-reencoded.mp4")
        reencode = time.perf_counter() - start
    rows.append(
        (
            "stitch 9 clips × 8 s 1280x720 (concat demuxer, stream copy)",
            f"{copy:.2f} s",
            f"full libx264 re-encode of the same clips: {reencode:.1f} s ({reencode / copy:.0f}× slower)",
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", choices=["breakdown", "direction", "film", "stitch", "runway", "feature"])
    args = parser.parse_args()
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    rows: list[tuple[str, str, str]] = []
    if args.only in (None, "breakdown"):
        bench_breakdown(rows, args.repeats)
    if args.only in (None, "direction"):
        bench_direction(rows, args.repeats)
    if args.only in (None, "stitch"):
        bench_stitch(rows)
    if args.only in (None, "film"):
        bench_film(rows)
    if args.only in (None, "runway"):
        bench_runway(rows)
    if args.only in (None, "feature"):
        bench_feature(rows)
    table = Table(title=f"Script-to-Film benchmarks ({os.cpu_count()} cores)")
    table.add_column("what")
    table.add_column("time", justify="right")
    table.add_column("against")
    for row in rows:
        table.add_row(*row)
    Console().print(table)


if __name__ == "__main__":
    main()
