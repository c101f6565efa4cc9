"""`pip install .` gives a working Configurator: the wheel carries every module, template,
static file and migration of the project's packages, and the installed copy runs from an empty
directory on the environment alone, writing nothing beside its code (docs/deployment.md)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.configurator.test_deploy import _production_env

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = (
    "cockpit",
    "configurator",
    "conversations",
    "demo",
    "integrations",
    "messaging",
    "queues",
    "transfer",
)
# A template of the project's own, one of an app's static files and one of Django's admin.
PROJECT_TEMPLATE = "admin/conversations/contact/change_form.html"
APP_STATIC_FILE = "conversations/admin/contact.css"


def _source_files() -> set[str]:
    """Every file of the project's packages in this checkout, as paths inside a wheel."""
    return {
        path.relative_to(ROOT).as_posix()
        for package in PACKAGES
        for path in (ROOT / package).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def _tree(directory: Path) -> set[str]:
    """The files under `directory`, bytecode caches aside (Python writes those wherever it may)."""
    return {
        path.relative_to(directory).as_posix()
        for path in directory.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel `pip install .` builds, from a copy of the sources (the checkout stays clean)."""
    source = tmp_path_factory.mktemp("source")
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    for name in ("pyproject.toml", "README.md", "manage.py"):
        shutil.copy2(ROOT / name, source / name)
    dist = tmp_path_factory.mktemp("dist")
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--quiet",
            "--wheel-dir",
            str(dist),
            str(source),
        ],
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    (built,) = dist.glob("configurator-*.whl")
    return built


@pytest.fixture(scope="module")
def site_packages(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel installed (unpacked, as pip does) into a directory of its own."""
    site = tmp_path_factory.mktemp("site-packages")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    return site


def _configurator(
    site: Path, cwd: Path, *args: str, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """`configurator <args>` of the installed copy, in `cwd`, with exactly `env`."""
    return subprocess.run(
        [sys.executable, "-m", "configurator", *args],
        env={**env, "PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
        cwd=cwd,
    )


def test_wheel_holds_every_module_template_static_file_and_migration(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        scripts = archive.read(entry_points).decode()

    packaged = {name for name in names if ".dist-info/" not in name}
    assert packaged == _source_files()
    assert f"configurator/templates/{PROJECT_TEMPLATE}" in packaged
    assert "conversations/migrations/0001_initial.py" in packaged
    assert "configurator = configurator.__main__:main" in scripts


def test_installed_copy_migrates_checks_and_collects_static_in_an_empty_directory(
    site_packages: Path, tmp_path: Path
) -> None:
    workdir = tmp_path / "service"
    workdir.mkdir()
    env = _production_env(tmp_path)
    before = _tree(site_packages)

    for command in (
        ["check", "--deploy", "--fail-level", "WARNING"],
        ["migrate", "--noinput", "--verbosity", "0"],
        ["collectstatic", "--noinput", "--verbosity", "0"],
    ):
        result = _configurator(site_packages, workdir, *command, env=env)
        assert result.returncode == 0, f"{command}: {result.stdout}{result.stderr}"
    where = _configurator(
        site_packages,
        workdir,
        "shell",
        "--no-imports",
        "-c",
        "from django.template.loader import get_template; "
        f"print(get_template({PROJECT_TEMPLATE!r}).origin.name)",
        env=env,
    )

    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(site_packages)
    assert (workdir / "staticfiles" / APP_STATIC_FILE).is_file()
    assert (workdir / "staticfiles" / "admin" / "css" / "base.css").is_file()
    assert _tree(site_packages) == before


def test_installed_copy_needs_its_database_named_and_reads_no_env_file(
    site_packages: Path, tmp_path: Path
) -> None:
    env = _production_env(tmp_path)
    without_database = {name: value for name, value in env.items() if name != "DATABASE_URL"}
    (site_packages / ".env").write_text(f"DATABASE_URL={env['DATABASE_URL']}\n")
    (tmp_path / ".env").write_text(f"DATABASE_URL={env['DATABASE_URL']}\n")
    try:
        result = _configurator(site_packages, tmp_path, "check", env=without_database)
    finally:
        (site_packages / ".env").unlink()

    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr
    assert not list(site_packages.glob("*.sqlite3"))
