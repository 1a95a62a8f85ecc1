"""The wheel, as the image installs it: self-contained, schemas inside, no top-level `schemas`.

The wheel is built from a copy of the files the Dockerfile copies, installed without its
dependencies into a fresh virtual environment outside the repository, which sees the test
environment's packages (spaCy and the model are not reinstalled) through a `.pth` line placed
after its own site-packages. The commands then run from an empty folder.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.conftest import clean_env
from tests.newsroom import serve_newsroom, write_feeds_file

ROOT = Path(__file__).resolve().parents[2]
# What the Dockerfile's build stage copies (worker/schemas stays a symlink, as COPY keeps it).
BUILD_INPUTS = ("pyproject.toml", "README.md", "schemas", "worker")


def _build_wheel(tmp: Path) -> Path:
    source = tmp / "src"
    source.mkdir()
    for name in BUILD_INPUTS:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, symlinks=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy(ROOT / name, source / name)
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet",
                             "--wheel-dir", str(tmp / "dist"), str(source)],
                            capture_output=True, text=True, timeout=600)
    if result.returncode != 0 and "No matching distribution" in result.stderr:
        pytest.skip("the build backend (setuptools) cannot be fetched from the registry")
    assert result.returncode == 0, result.stderr[-3000:]
    (wheel,) = (tmp / "dist").glob("newsworker-*.whl")
    return wheel


def _fresh_venv(tmp: Path, wheel: Path) -> Path:
    """A new venv with the wheel alone installed; dependencies seen from the test venv."""
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path"
                           "('purelib'))"], capture_output=True, text=True, check=True)
    # Appended after the venv's own site-packages: the wheel's `worker` wins over any other.
    Path(site.stdout.strip(), "zz_test_dependencies.pth").write_text(
        sysconfig.get_path("purelib") + "\n", encoding="utf-8")
    subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--quiet",
                    str(wheel)], check=True, timeout=300)
    return venv


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    """(wheel, venv): built and installed once for this module."""
    tmp = tmp_path_factory.mktemp("wheel")
    wheel = _build_wheel(tmp)
    return wheel, _fresh_venv(tmp, wheel)


def test_wheel_ships_the_schemas_inside_the_package(installed):
    wheel, venv = installed
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names}
    assert tops == {"worker", "newsworker-0.1.0.dist-info"}, tops
    shipped = {n.removeprefix("worker/schemas/") for n in names
               if n.startswith("worker/schemas/")}
    assert shipped == {p.name for p in (ROOT / "schemas").glob("*.json")}
    source_files = {str(p.relative_to(ROOT)) for p in (ROOT / "worker").rglob("*")
                    if p.is_file() and "__pycache__" not in p.parts}
    assert source_files - set(names) == set()  # data files too (gazetteer, migrations)
    site = next((venv / "lib").glob("python3*/site-packages"))
    assert not (site / "schemas").exists()
    assert (site / "worker" / "schemas" / "feeds.schema.json").is_file()
    assert not (site / "worker" / "schemas").is_symlink()


def test_installed_package_runs_from_anywhere(installed, site, tmp_path):
    _, venv = installed
    newsworker = str(venv / "bin" / "newsworker")
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    feeds = write_feeds_file(tmp_path / "feeds.yaml", serve_newsroom(site))
    env = clean_env(NEWSWORKER_DATA_DIR=str(tmp_path / "data"),
                    NEWSWORKER_FEEDS_FILE=str(feeds), PYTHONDONTWRITEBYTECODE="1")

    def run(*args: str) -> subprocess.CompletedProcess:
        result = subprocess.run([newsworker, *args], cwd=workdir, env=env, capture_output=True,
                                text=True, timeout=600)
        assert result.returncode == 0, f"{args}: {result.stdout}{result.stderr[-3000:]}"
        return result

    where = subprocess.run([str(venv / "bin" / "python"), "-c",
                            "import worker; print(worker.__file__)"], cwd=workdir, env=env,
                           capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(venv)), where
    assert "database at revision head" in run("db", "upgrade").stdout
    assert "OK, 3 feeds (3 enabled)" in run("feeds", "check").stdout
    run("ingest", "--once")
    records = [json.loads(line) for line in run("export", "--since", "0").stdout.splitlines()]
    assert len(records) == 9 and {r["state"] for r in records} == {"done"}
    blinken = next(r for r in records
                   if r["canonical_url"].endswith("/articles/blinken-kiev.html"))
    # Annotated by the installed package: the model, its rules and their data files.
    assert {"PER", "Anthony Blinken"} <= {v for e in blinken["entities"] for v in e.values()
                                          if isinstance(v, str)}
    assert any(a["currency"] == "USD" for a in blinken["amounts"])
    assert list(workdir.iterdir()) == []  # everything went to the data folder
