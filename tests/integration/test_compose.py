"""docker-compose.yml: every command it runs exists in the CLI; the file is valid compose."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from typer.main import get_command

from worker.cli import app

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
OURS = [name for name, svc in COMPOSE["services"].items()
        if svc.get("image") == "newsworker:latest"]


def resolve(argv: list[str]):
    """Walk the CLI like click does; fails if a command or an option does not exist."""
    command = get_command(app)
    args = list(argv)
    while hasattr(command, "commands"):  # a group (typer may vendor its own click)
        name = args.pop(0)
        assert name in command.commands, f"no command {name!r}"
        command = command.commands[name]
    command.make_context(command.name, args)  # raises on an unknown option or bad value
    return command


@pytest.mark.parametrize("service", OURS)
def test_each_service_command_exists_in_the_cli(service):
    svc = COMPOSE["services"][service]
    entrypoint = svc.get("entrypoint")
    if entrypoint:  # flower runs celery itself, against our app module
        assert entrypoint[0] == "celery" and "worker.celery_app" in entrypoint
        return
    assert resolve(svc["command"]).name in {"upgrade", "run"}


def test_roles_queues_and_volumes():
    services = COMPOSE["services"]
    assert {"redis", "postgres", "migrate", "beat", "worker-io", "worker-nlp"} <= set(services)
    assert "--queues" in services["worker-io"]["command"]
    assert services["worker-io"]["command"][services["worker-io"]["command"].index("--queues")
                                          + 1] == "io"
    assert "nlp" in services["worker-nlp"]["command"]
    assert services["flower"]["profiles"] == ["monitoring"]
    assert {"redis-data", "postgres-data"} <= set(COMPOSE["volumes"])
    for name in ("redis", "postgres"):
        assert "healthcheck" in services[name]


def test_env_example_documents_every_setting():
    from worker.settings import Settings

    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    for name in Settings.model_fields:
        assert f"NEWSWORKER_{name.upper()}" in text, name


def test_compose_config_validates(tmp_path):
    tool = (["docker", "compose"] if subprocess.run(["docker", "compose", "version"],
                                                    capture_output=True).returncode == 0
            else ["docker-compose"] if shutil.which("docker-compose") else None)
    if tool is None:
        pytest.skip("no docker compose client installed")
    for name in ("docker-compose.yml", ".env.example", "feeds.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    result = subprocess.run([*tool, "config", "--quiet"], cwd=tmp_path, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr


def test_resolve_rejects_unknown_commands_and_options():
    with pytest.raises(AssertionError):
        resolve(["db", "downgrade-everything"])
    with pytest.raises(Exception, match="bogus"):
        resolve(["run", "--bogus"])
