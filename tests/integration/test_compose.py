"""docker-compose.yml: every command it runs exists in the CLI; the file is valid compose;
no secret has a default; monitoring is protected and published on the loopback only."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml
from typer.main import get_command

import worker
from tests.conftest import clean_env, free_port
from tests.services import wait_for
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
    if entrypoint:  # flower runs celery itself, against our app module, behind a guard
        assert entrypoint[:2] == ["sh", "-c"]
        assert entrypoint[2].endswith("exec celery -A worker.celery_app flower")
        return
    assert resolve(svc["command"]).name in {"upgrade", "run", "web"}


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


def test_web_service_serves_the_pages_only_with_a_token(tmp_path):
    """In its container the web server listens on every interface: the CLI refuses that
    without NEWSWORKER_WEB_TOKEN, which .env.example leaves empty (no default token)."""
    command = COMPOSE["services"]["web"]["command"]
    assert resolve(command).name == "web"
    assert command[command.index("--host") + 1] == "0.0.0.0"
    env = clean_env(NEWSWORKER_DATA_DIR=str(tmp_path))
    refused = subprocess.run([sys.executable, "-m", "worker.cli", *command], env=env,
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "NEWSWORKER_WEB_TOKEN" in refused.stderr
    example = dict(line.split("=", 1) for line in
                   (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
                   if line and not line.startswith("#"))
    assert example["NEWSWORKER_WEB_TOKEN"] == ""


def test_env_example_documents_every_setting():
    from worker.settings import Settings

    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    for name in Settings.model_fields:
        assert f"NEWSWORKER_{name.upper()}" in text, name


def compose_tool() -> list[str]:
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"],
                                                 capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    pytest.skip("no docker compose client installed (apt-get install docker-compose)")


def compose_config(folder: Path, env_file: str, *args: str) -> subprocess.CompletedProcess:
    """`docker compose config` in a copy of the deployment files, with this .env."""
    for name in ("docker-compose.yml", ".env.example", "feeds.yaml"):
        shutil.copy(ROOT / name, folder / name)
    shutil.copytree(ROOT / "deploy", folder / "deploy", dirs_exist_ok=True)
    (folder / ".env").write_text(env_file, encoding="utf-8")
    env = {k: v for k, v in os.environ.items()
           if k not in ("POSTGRES_PASSWORD", "FLOWER_BASIC_AUTH", "MONITORING_BIND_ADDRESS")}
    return subprocess.run([*compose_tool(), *args, "config"], cwd=folder, capture_output=True,
                          text=True, env=env)


def test_compose_config_requires_the_postgres_password(tmp_path):
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    refused = compose_config(tmp_path, example)
    assert refused.returncode != 0
    assert "POSTGRES_PASSWORD is not set - put one in .env" in refused.stderr
    accepted = compose_config(tmp_path, example + "POSTGRES_PASSWORD=0123abcd\n",
                              "--profile", "monitoring")
    assert accepted.returncode == 0, accepted.stderr
    resolved = yaml.safe_load(accepted.stdout)["services"]
    url = resolved["worker-io"]["environment"]["NEWSWORKER_DATABASE_URL"]
    assert url == "postgresql+psycopg://newsworker:0123abcd@postgres:5432/newsworker"
    assert resolved["postgres"]["environment"]["POSTGRES_PASSWORD"] == "0123abcd"


def _published(service: dict) -> list[tuple[str, int]]:
    """(host address, host port) of each published port, short or long syntax."""
    out = []
    for port in service.get("ports", []):
        if isinstance(port, dict):
            out.append((port.get("host_ip", ""), int(port["published"])))
        else:
            parts = str(port).split("/")[0].split(":")
            out.append((parts[0] if len(parts) == 3 else "", int(parts[-2])))
    return out


def test_monitoring_is_published_on_the_loopback_only(tmp_path):
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    result = compose_config(tmp_path, example + "POSTGRES_PASSWORD=x1\n",
                            "--profile", "monitoring")
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    published = {name: _published(svc) for name, svc in services.items() if svc.get("ports")}
    assert published == {"flower": [("127.0.0.1", 5555)], "prometheus": [("127.0.0.1", 9090)],
                         "web": [("127.0.0.1", 8080)]}


def _flower_script() -> str:
    # What the container's shell receives: compose turns $$ into $.
    return COMPOSE["services"]["flower"]["entrypoint"][2].replace("$$", "$")


def test_flower_refuses_to_start_without_credentials(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "FLOWER_BASIC_AUTH"}
    for value in (None, ""):
        if value is not None:
            env["FLOWER_BASIC_AUTH"] = value
        result = subprocess.run(["sh", "-c", _flower_script()], env=env, cwd=tmp_path,
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 78
        assert "FLOWER_BASIC_AUTH is not set" in result.stderr


def test_flower_asks_for_the_credentials_of_the_env_file(tmp_path):
    pytest.importorskip("flower", reason="the monitoring extra is not installed")
    port = free_port()
    env = clean_env(FLOWER_BASIC_AUTH="ops:s3cret", FLOWER_PORT=str(port),
                    FLOWER_ADDRESS="127.0.0.1", NEWSWORKER_DATA_DIR=str(tmp_path / "data"),
                    PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    proc = subprocess.Popen(["sh", "-c", _flower_script()], env=env, cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_for(lambda: _status(url) is not None, 120, what="flower listening")
        assert _status(url) == 401
        assert _status(url, ("ops", "wrong")) == 401
        assert _status(url, ("ops", "s3cret")) == 200
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def _status(url: str, auth: tuple[str, str] | None = None) -> int | None:
    """The HTTP status of GET url, or None while nothing listens."""
    try:
        return httpx.get(url, auth=auth, timeout=5).status_code
    except httpx.TransportError:
        return None


def test_no_secret_has_a_default():
    from worker.settings import Settings

    compose_text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    for secret in ("POSTGRES_PASSWORD", "FLOWER_BASIC_AUTH"):
        assert f"${{{secret}:-" not in compose_text and f"${{{secret}-" not in compose_text
    assert "change-me" not in compose_text
    example = dict(line.split("=", 1) for line in
                   (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
                   if line and not line.startswith("#"))
    for name in ("POSTGRES_PASSWORD", "FLOWER_BASIC_AUTH", "NEWSWORKER_USER_AGENT_CONTACT",
                 "NEWSWORKER_DATABASE_URL", "NEWSWORKER_BROKER_URL"):
        assert example[name] == "", name
    defaults = Settings(_env_file=None)
    assert defaults.user_agent_contact == "" and defaults.database_url == ""
    assert defaults.user_agent() == f"newsworker/{worker.__version__}"
    operator = Settings(_env_file=None, user_agent_contact="mailto:ops@example.org")
    assert operator.user_agent() == f"newsworker/{worker.__version__} (+mailto:ops@example.org)"


def test_every_metrics_port_is_scraped():
    """The services that expose metrics are the scrape targets of deploy/prometheus.yml."""
    services = COMPOSE["services"]
    exposing = {name: [int(p) for p in svc["expose"]] for name, svc in services.items()
                if svc.get("expose")}
    assert exposing == {"worker-io": [9108], "worker-nlp": [9108]}
    from worker.settings import Settings

    assert Settings(_env_file=None).metrics_port == 9108
    scrape = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text(encoding="utf-8"))
    targets = {(name, sd["port"]) for job in scrape["scrape_configs"]
               for sd in job["dns_sd_configs"] for name in sd["names"]}
    assert targets == {(name, port) for name, ports in exposing.items() for port in ports}
    prometheus = services["prometheus"]
    assert "./deploy/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in prometheus["volumes"]


def test_readme_production_section_matches_the_compose_file():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Running in production", 1)[1].split("\n## Development", 1)[0]
    for name, svc in COMPOSE["services"].items():
        assert f"`{name}`" in section, name
        for port in _published(svc):
            assert f"127.0.0.1:{port[1]}" in section, port
    for variable in ("POSTGRES_PASSWORD", "FLOWER_BASIC_AUTH", "NEWSWORKER_USER_AGENT_CONTACT",
                     "MONITORING_BIND_ADDRESS"):
        assert variable in section, variable
    assert "deploy/prometheus.yml" in section and "newsworker health" in section


def test_resolve_rejects_unknown_commands_and_options():
    with pytest.raises(AssertionError):
        resolve(["db", "downgrade-everything"])
    with pytest.raises(Exception, match="bogus"):
        resolve(["run", "--bogus"])


def _exported_series() -> set[str]:
    """The series names newsworker's metrics endpoint can show."""
    import re

    from prometheus_client import REGISTRY

    import worker.metrics

    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}
    names = {family.name + suffix for family in REGISTRY.collect()
             if family.name.startswith("newsworker_")
             for suffix in suffixes.get(family.type, ("",))}
    # The gauges are built at each scrape from the database and the broker: read their names
    # from the collector rather than run it (it would open the broker of this process).
    source = Path(worker.metrics.__file__).read_text(encoding="utf-8")
    return names | set(re.findall(r'GaugeMetricFamily\("(newsworker_\w+)"', source))


def test_dashboard_queries_only_exported_metrics():
    import re

    dashboard = json.loads((ROOT / "deploy" / "grafana-dashboard.json")
                           .read_text(encoding="utf-8"))
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    used = {name for expr in exprs for name in re.findall(r"\bnewsworker_\w+", expr)}
    exported = _exported_series()
    assert {"newsworker_queue_depth", "newsworker_articles_total"} <= exported
    assert used and used <= exported, used - exported
