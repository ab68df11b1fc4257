"""The deployment files in deploy/ run commands that exist, with options they accept, against paths the app serves."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from flask import Flask

from sync.cli.main import main

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
UNITS = sorted((DEPLOY / "systemd").iterdir())
LIFESYNC = "/opt/lifesync/.venv/bin/lifesync"
README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def parse_unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """systemd's unit syntax: [Section], Key=Value (a key may repeat), # and ; comments."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, sep, value = line.partition("=")
        assert sep and current is not None and key.strip().isidentifier(), f"{path.name}:{number}: {raw!r}"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def check_lifesync_command(args: list[str]) -> str:
    """``args`` (after the program) parse as a lifesync command with its options; the command's name."""
    command = main.get_command(None, args[0])  # type: ignore[arg-type]
    assert command is not None, f"no lifesync command {args[0]!r}"
    command.make_context(args[0], list(args[1:]))  # raises on an unknown option or a bad value
    return args[0]


@pytest.mark.parametrize("unit", [u for u in UNITS if u.suffix == ".service"], ids=lambda u: u.name)
def test_every_service_runs_a_lifesync_command_or_a_health_check(unit):
    service = parse_unit(unit)["Service"]
    [start] = service["ExecStart"]
    words = shlex.split(start)
    if service.get("Type") == ["oneshot"]:  # the health check: curl the app, restart the web service
        assert "systemctl restart lifesync-web.service" in start
        return
    assert words[0] == LIFESYNC
    assert check_lifesync_command(words[1:]) in {"serve", "worker", "scheduler"}
    assert service["Restart"] == ["always"] and service["EnvironmentFile"] == ["/etc/lifesync/lifesync.env"]
    assert parse_unit(unit)["Install"]["WantedBy"] == ["lifesync.target"]


def test_the_target_starts_units_that_exist():
    wanted = " ".join(parse_unit(DEPLOY / "systemd" / "lifesync.target")["Unit"]["Wants"]).split()
    names = {u.name for u in UNITS}
    for name in wanted:
        template = re.sub(r"@[^.]+\.", "@.", name)
        assert name in names or template in names, f"lifesync.target wants {name}, which deploy/ does not have"
    assert {"lifesync-web.service", "lifesync-scheduler.service", "lifesync-web-health.timer"} <= set(wanted)
    assert any(n.startswith("lifesync-worker@") for n in wanted)


@pytest.mark.parametrize("settings", ["embedded"], indirect=True)
def test_health_checks_ask_the_port_the_web_serves_for_paths_the_app_has(settings):
    from jobs.wsgi import app  # gunicorn's jobs.wsgi:app, which `lifesync serve` runs

    assert isinstance(app, Flask)
    web = shlex.split(parse_unit(DEPLOY / "systemd" / "lifesync-web.service")["Service"]["ExecStart"][0])
    port = web[web.index("--port") + 1]
    checks = [line for unit in UNITS for line in unit.read_text().splitlines() if "curl" in line]
    assert len(checks) == 2
    routes = {rule.rule for rule in app.url_map.iter_rules()}
    for line in checks:
        [(found_port, path)] = re.findall(r"http://127\.0\.0\.1:(\d+)(/\w+)", line)
        assert (found_port, path in routes) == (port, True), line


def test_the_procfile_runs_web_workers_and_one_scheduler():
    processes = {}
    for line in (DEPLOY / "Procfile").read_text().splitlines():
        name, _, command = line.partition(": ")
        command = re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", command)  # the defaults of ${PORT:-8000} and the like
        words = shlex.split(command)
        assert words[0] == "lifesync"
        processes[name] = check_lifesync_command(words[1:])
    assert processes == {"web": "serve", "worker": "worker", "scheduler": "scheduler"}


def test_the_example_environment_names_documented_settings():
    for line in (DEPLOY / "lifesync.env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            name = line.partition("=")[0]
            assert f"| `{name}` |" in README, f"{name} is not in the README's settings table"


def test_the_readme_documents_the_deployment_files():
    section = README.partition("## Deployment")[2].partition("\n## ")[0]
    for path in [*UNITS, DEPLOY / "Procfile", DEPLOY / "lifesync.env.example"]:
        assert path.name in section, f"the README's Deployment section does not mention {path.name}"
