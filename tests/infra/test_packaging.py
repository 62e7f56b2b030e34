"""The distribution `pip install` makes: every package of the four source folders, the data the
code reads at run time (the fonts, the state machine), nothing else, and no setuptools warning
about a package the configuration left out. Built once from a copy of the sources, with the
pinned build backend, as `make setup` builds it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = {
    "layers/core/script_to_film": "script_to_film",
    "stf": "stf",
    "functions": "functions",
    "infra": "infra",
}
NOTO_SCRIPTS = (
    "Bengali", "Devanagari", "Ethiopic", "Gujarati", "Gurmukhi", "Kannada", "Khmer", "Lao",
    "Malayalam", "Myanmar", "Sinhala", "Tamil", "Telugu", "Thai",
)  # fmt: skip
DATA = {
    "script_to_film/py.typed",
    "script_to_film/adapters/fonts/DejaVuSans.ttf",
    "script_to_film/adapters/fonts/DejaVuSans-Bold.ttf",
    "script_to_film/adapters/fonts/LICENSE-DejaVu.txt",
    "script_to_film/adapters/fonts/DroidSansFallbackFull.ttf",
    "script_to_film/adapters/fonts/LICENSE-DroidSansFallback.txt",
    "script_to_film/adapters/fonts/NanumSquareR.ttf",
    "script_to_film/adapters/fonts/LICENSE-Nanum.txt",
    "script_to_film/adapters/fonts/LICENSE-Noto.txt",
    *(f"script_to_film/adapters/fonts/NotoSans{script}-Regular.ttf" for script in NOTO_SCRIPTS),
    "infra/statemachine/film.asl.json",
    "infra/statemachine/scene.asl.json",
}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """(the wheel, what the build printed)."""
    work = tmp_path_factory.mktemp("packaging")
    source = work / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    for folder in SOURCES:
        # Bytecode caches come along: the build must leave them out by itself.
        shutil.copytree(ROOT / folder, source / folder)
    (source / "infra" / "local" / "__pycache__").mkdir(exist_ok=True)
    (source / "infra" / "local" / "__pycache__" / "stack.cpython-311.pyc").write_bytes(b"")
    dist = work / "dist"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(dist), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = dist.glob("*.whl")
    return wheel, result.stdout + result.stderr


def test_the_build_warns_about_no_package_left_out(built: tuple[Path, str]) -> None:
    _, output = built
    assert "absent from the `packages` configuration" not in output
    assert "BuildBackendWarning: Package" not in output


def test_the_wheel_holds_every_module_and_the_data_the_code_reads(built: tuple[Path, str]) -> None:
    wheel, _ = built
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    modules = {
        f"{package}/{path.relative_to(ROOT / folder).as_posix()}"
        for folder, package in SOURCES.items()
        for path in (ROOT / folder).rglob("*.py")
        if "__pycache__" not in path.parts
    }
    shipped = {name for name in names if ".dist-info/" not in name}
    assert shipped == modules | DATA, "every module, the data, and nothing else (no bytecode, no tests)"


def test_the_installed_wheel_finds_its_fonts_and_the_state_machine(
    built: tuple[Path, str], tmp_path: Path
) -> None:
    wheel, _ = built
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(wheel)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    probe = (
        "import importlib.resources as r, script_to_film, stf.cli, infra.local.stack as s;"
        "fonts = r.files('script_to_film.adapters') / 'fonts';"
        "print(script_to_film.__file__);"
        "print(sorted(p.name for p in fonts.iterdir() if p.name.endswith('.ttf')));"
        "print(s.ASL_PATH.is_file(), s.ASL_PATH);"
        "print(stf.cli.__file__)"
    )
    # -I: only the installed copy is importable, not the checkout nor the editable install.
    result = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(site)!r}); {probe}"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    location, fonts, asl, cli = result.stdout.splitlines()
    assert location.startswith(str(site)) and cli.startswith(str(site))
    noto = [f"NotoSans{script}-Regular.ttf" for script in NOTO_SCRIPTS]
    expected = [
        "DejaVuSans-Bold.ttf",
        "DejaVuSans.ttf",
        "DroidSansFallbackFull.ttf",
        "NanumSquareR.ttf",
        *noto,
    ]
    assert fonts == str(expected)
    assert asl == f"True {site / 'infra' / 'statemachine' / 'film.asl.json'}"


def test_the_stf_command_runs_the_cli_outside_the_layer(built: tuple[Path, str]) -> None:
    wheel, _ = built
    with zipfile.ZipFile(wheel) as archive:
        (entry_points,) = (
            name for name in archive.namelist() if name.endswith(".dist-info/entry_points.txt")
        )
        scripts = archive.read(entry_points).decode("utf-8")
    assert "[console_scripts]\nstf = stf.cli:main\n" in scripts
