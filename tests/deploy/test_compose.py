"""deploy/: every process the compose file and the systemd units start is one the project provides.

No Docker nor systemd runs here, so the files are read: each command is parsed by the program
that would run it (manage.py's commands, Celery's command line, and for the web server the exact
arguments `make run` gives gunicorn, leaderboard_site.serve.asgi_command, from the settings
module run under the deployment's own environment), the queues are the settings' queues, and
nginx's body limit is ours. `nginx -t` and `systemd-analyze verify` check the rest where they
are installed.
"""

from __future__ import annotations

import inspect
import ipaddress
import json
import os
import re
import runpy
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from unittest import mock

import click
import pytest
import yaml
from celery.bin.base import CLIContext
from celery.bin.celery import celery as celery_cli
from django.conf import settings
from django.core.management import CommandError, get_commands, load_command_class
from django.test import override_settings
from django.urls import resolve, reverse

from leaderboard_site import serve
from leaderboard_site.api.errors import envelope
from leaderboard_site.celery import app as celery_app
from tests.deploy.conftest import nginx_binary, nginx_conf, nginx_prefix

ROOT = Path(__file__).parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
NGINX = DEPLOY / "nginx" / "site.conf"
UNITS = DEPLOY / "systemd"
SETTINGS_FILE = ROOT / "leaderboard_site" / "settings" / "base.py"
VENV_PYTHON = "/opt/leaderboard/.venv/bin/python"

# What deploy/.env would hold (the compose file refuses to start without them).
REQUIRED = {
    "SECRET_KEY": "s" * 48,
    "JWT_SECRET": "j" * 48,
    "POSTGRES_PASSWORD": "password",
    "SERVER_NAME": "leaderboard.example.org",
}


# --- reading the files ------------------------------------------------------------------------
def interpolate(value: Any, environ: dict[str, str]) -> Any:
    """Compose's ${NAME}, ${NAME:-default} and ${NAME:?error}, with deploy/.env's values."""
    if not isinstance(value, str):
        return value

    def one(match: re.Match[str]) -> str:
        name, operator, argument = match.group(1), match.group(2), match.group(3) or ""
        if environ.get(name):
            return environ[name]
        if operator == ":?":
            raise AssertionError(f"compose needs {name}: {argument}")
        return argument if operator == ":-" else ""

    return re.sub(r"\$\{(\w+)(?:(:[-?])([^}]*))?\}", one, value)


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def project_services() -> dict[str, dict[str, Any]]:
    """The services running our image (not PostgreSQL's, Redis's or nginx's)."""
    return {
        name: service
        for name, service in compose()["services"].items()
        if str(service.get("image", "")).startswith("leaderboard-server")
    }


def environment_of(service: dict[str, Any]) -> dict[str, str]:
    return {k: str(interpolate(v, REQUIRED)) for k, v in service.get("environment", {}).items()}


def units() -> dict[str, dict[str, dict[str, list[str]]]]:
    """Each unit file's sections, each key with its values in order (systemd's keys repeat)."""
    parsed: dict[str, dict[str, dict[str, list[str]]]] = {}
    for path in sorted(UNITS.iterdir()):
        sections: dict[str, dict[str, list[str]]] = {}
        section: dict[str, list[str]] = {}
        for line in path.read_text().splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("["):
                section = sections.setdefault(line.strip("[]"), {})
                continue
            key, _, value = line.partition("=")
            section.setdefault(key, []).append(value)
        parsed[path.name] = sections
    return parsed


def service_units() -> dict[str, dict[str, dict[str, list[str]]]]:
    return {name: unit for name, unit in units().items() if name.endswith(".service")}


def unit_argv(value: str) -> list[str]:
    """An ExecStart's words as the program receives them (systemd's %% is a %)."""
    argv = shlex.split(value.replace("%%", "%"))
    assert argv[0] == VENV_PYTHON, f"{value}: not the project's virtualenv's python"
    return ["python", *argv[1:]]


def unit_environment(unit: dict[str, dict[str, list[str]]]) -> dict[str, str]:
    pairs = [p for line in unit["Service"].get("Environment", []) for p in shlex.split(line)]
    return dict(pair.split("=", 1) for pair in pairs)


# --- what the settings say, under a deployment's environment ----------------------------------
def deployed_settings(environment: dict[str, str], var_dir: Path) -> dict[str, Any]:
    """What a process of the deployment reads: the settings module run afresh under its
    environment (a bad value there fails this), and `make run`'s web command computed from
    them (every setting serve.py reads taken from that run)."""
    environ = {
        **environment,
        # settings create VAR_DIR; the deployment's (/var/lib/leaderboard) is not ours to make
        "VAR_DIR": str(var_dir),
    }
    with mock.patch.dict(os.environ, environ, clear=True):
        deployed = runpy.run_path(str(SETTINGS_FILE), run_name="deployed")
    read_by_serve = set(re.findall(r"settings\.([A-Z][A-Z_]+)", inspect.getsource(serve)))
    with override_settings(**{name: deployed[name] for name in read_by_serve}):
        web = serve.asgi_command(deployed["BIND_ADDRESS"], deployed["WEB_CONCURRENCY"])
    var = environment.get("VAR_DIR", str(ROOT / "var"))
    return {
        "web": web[1:],
        "max_request_bytes": deployed["MAX_REQUEST_BYTES"],
        "static_root": str(deployed["STATIC_ROOT"]).replace(str(var_dir), var),
        "static_url": deployed["STATIC_URL"],
        "serve_static": deployed["SERVE_STATIC"],
    }


@pytest.fixture(scope="module")
def compose_settings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    return {
        name: deployed_settings(environment_of(service), tmp_path_factory.mktemp("var"))
        for name, service in project_services().items()
    }


# --- what a command is ------------------------------------------------------------------------
def settings_queues() -> set[str]:
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    return {settings.CELERY_TASK_DEFAULT_QUEUE, *routed}


def celery_command(args: list[str]) -> tuple[str, dict[str, Any]]:
    """Parse `celery -A leaderboard_site SUBCOMMAND ...` as Celery's own command line does."""
    assert args[:2] in (["-A", "leaderboard_site"], ["--app", "leaderboard_site"]), args
    name, rest = args[2], args[3:]
    command = celery_cli.commands.get(name)
    assert command is not None, f"celery has no command {name!r}"
    context = celery_cli.make_context("celery", args[:2])
    context.obj = CLIContext(app=celery_app, no_color=True, workdir=None, quiet=True)
    try:
        parsed = command.make_context(name, list(rest), parent=context)
    except click.UsageError as exc:
        raise AssertionError(f"celery {name} {shlex.join(rest)}: {exc}") from exc
    return name, parsed.params


def manage_command(args: list[str]) -> str:
    name, rest = args[0], args[1:]
    commands = get_commands()
    assert name in commands, f"manage.py has no command {name!r}"
    parser = load_command_class(commands[name], name).create_parser("manage.py", name)
    try:
        parser.parse_args(rest)
    except CommandError as exc:
        raise AssertionError(f"manage.py {shlex.join(args)}: {exc}") from exc
    return name


def classify(argv: list[str], deployed: dict[str, Any]) -> tuple[str, Any]:
    """What a process runs: ("manage", name), ("web", None), ("worker", queues) or ("beat", None);
    anything that is not one of the project's commands fails."""
    assert argv[0] == "python", argv
    if argv[1] == "manage.py":
        return "manage", manage_command(argv[2:])
    assert argv[1] == "-m", argv
    if argv[2] == "gunicorn":
        # `make run`'s web server, argument for argument
        assert argv[1:] == deployed["web"], f"{shlex.join(argv)}\n!= {shlex.join(deployed['web'])}"
        return "web", None
    assert argv[2] == "celery", argv
    name, params = celery_command(argv[3:])
    if name == "beat":
        return "beat", None
    assert name == "worker", f"celery {name} is not a process of the deployment"
    queues = set(params["queues"] or [])
    assert queues, f"{shlex.join(argv)}: name its queues (--queues)"
    assert queues <= settings_queues(), f"{queues - settings_queues()}: no such queue"
    assert not params["beat"], "beat runs as a process of its own (one in the deployment)"
    if "evaluation" in queues:  # one evaluation at a time: a model takes the machine's memory
        assert params["concurrency"] == 1, argv
    return "worker", queues


def check_processes(kinds: list[tuple[str, Any]]) -> None:
    """Together: the web server, every queue consumed, exactly one beat, and the migrations."""
    names = [kind for kind, _ in kinds]
    assert "web" in names
    assert names.count("beat") == 1
    consumed = set().union(*(queues for kind, queues in kinds if kind == "worker"))
    assert consumed == settings_queues()
    assert ("manage", "migrate") in kinds


# --- compose ----------------------------------------------------------------------------------
def test_every_compose_service_runs_a_command_the_project_provides(
    compose_settings: dict[str, dict[str, Any]],
) -> None:
    kinds = []
    for name, service in project_services().items():
        command = service.get("command")
        assert isinstance(command, list), f"{name}: give its command as a list (exec form)"
        argv = [str(interpolate(word, REQUIRED)) for word in command]
        kinds.append(classify(argv, compose_settings[name]))
    check_processes(kinds)
    assert set(compose()["services"]) - set(project_services()) == {"postgres", "redis", "nginx"}


def test_compose_services_start_after_the_migrations_and_serve_static_files_through_nginx(
    compose_settings: dict[str, dict[str, Any]],
) -> None:
    services = compose()["services"]
    for name, service in project_services().items():
        if name not in {"migrate", "collectstatic"}:
            after = service["depends_on"]["migrate"]["condition"]
            assert after == "service_completed_successfully", name
        assert compose_settings[name]["serve_static"] is False, name
    static_root = compose_settings["collectstatic"]["static_root"]
    assert f"static:{static_root}" in services["collectstatic"]["volumes"]
    assert f"static:{static_root}:ro" in services["nginx"]["volumes"]


def test_the_web_healthcheck_asks_a_route_that_exists() -> None:
    check = " ".join(compose()["services"]["web"]["healthcheck"]["test"])
    path = re.search(r"http://127\.0\.0\.1:7860(/[\w/]*)", check)
    assert path is not None
    assert resolve(path.group(1)).url_name == "health"


def test_only_nginx_is_believed_for_forwarded_addresses(
    compose_settings: dict[str, dict[str, Any]],
) -> None:
    services = compose()["services"]
    nginx_address = services["nginx"]["networks"]["leaderboard"]["ipv4_address"]
    for name, service in project_services().items():
        assert environment_of(service)["TRUSTED_PROXIES"] == nginx_address, name
    # and nginx's address is on the network, outside the range Docker hands the others
    network = compose()["networks"]["leaderboard"]["ipam"]["config"][0]
    address = ipaddress.ip_address(nginx_address)
    assert address in ipaddress.ip_network(network["subnet"])
    assert address not in ipaddress.ip_network(network["ip_range"])


# --- systemd ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def unit_settings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    return {
        name: deployed_settings(unit_environment(unit), tmp_path_factory.mktemp("var"))
        for name, unit in service_units().items()
    }


def test_every_systemd_unit_runs_a_command_the_project_provides(
    unit_settings: dict[str, dict[str, Any]],
) -> None:
    kinds = []
    for name, unit in service_units().items():
        assert unit["Service"]["WorkingDirectory"] == ["/opt/leaderboard"], name
        for line in unit["Service"]["ExecStart"]:
            kinds.append(classify(unit_argv(line), unit_settings[name]))
    check_processes(kinds)


def test_the_target_starts_every_long_running_unit_after_the_migrations() -> None:
    services = service_units()
    long_running = {n for n, u in services.items() if u["Service"].get("Type") != ["oneshot"]}
    wanted = set(units()["leaderboard.target"]["Unit"]["Wants"][0].split())
    assert wanted == long_running
    for name in long_running:
        assert "leaderboard-migrate.service" in services[name]["Unit"]["After"][0].split(), name
        assert services[name]["Install"]["WantedBy"] == ["leaderboard.target"], name


def test_systemd_reads_the_units_without_a_complaint(tmp_path: Path) -> None:
    verify = shutil.which("systemd-analyze")
    if verify is None:
        pytest.skip("systemd-analyze is not installed")
    for path in UNITS.iterdir():  # the virtualenv's python where systemd can find one
        (tmp_path / path.name).write_text(path.read_text().replace(VENV_PYTHON, sys.executable))
    done = subprocess.run(
        [verify, "verify", "--man=no", *sorted(str(p) for p in tmp_path.iterdir())],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")


# --- nginx ------------------------------------------------------------------------------------
def nginx_locations(text: str) -> dict[str, str]:
    """Each `location` of the TLS server with its block's text."""
    server = text[text.index("listen 443") :]
    return {
        match.group(1).strip(): match.group(2)
        for match in re.finditer(r"location\s+([^{]+)\{([^}]*)\}", server)
    }


def size_in_bytes(value: str) -> int:
    """nginx's sizes: a number of bytes, or with k or m (1024 based)."""
    match = re.fullmatch(r"(\d+)([km]?)", value.lower())
    assert match is not None, value
    return int(match.group(1)) * {"": 1, "k": 1024, "m": 1024 * 1024}[match.group(2)]


def test_nginx_refuses_the_same_bodies_as_we_do_in_our_envelope(
    compose_settings: dict[str, dict[str, Any]],
) -> None:
    text = NGINX.read_text()
    limit = compose_settings["web"]["max_request_bytes"]
    assert limit == 10 * 1024 * 1024  # the settings' default: compose does not change it
    sizes = re.findall(r"client_max_body_size\s+(\w+);", text)
    assert [size_in_bytes(size) for size in sizes] == [limit]

    body = re.search(r"return 413 '(.*)';", text).group(1)  # type: ignore[union-attr]
    answer = json.loads(body.replace("$request_id", "abc").replace("$time_utc", "now"))
    assert answer.keys() == envelope("PAYLOAD_TOO_LARGE", "m").keys()
    assert answer["error"]["code"] == "PAYLOAD_TOO_LARGE"
    assert answer["error"]["details"] == {"limit_bytes": limit}
    assert str(limit) in answer["error"]["message"]


def test_nginx_routes_our_paths(compose_settings: dict[str, dict[str, Any]]) -> None:
    text = NGINX.read_text()
    locations = nginx_locations(text)
    assert re.search(r"^\s*gzip off;", text[text.index("listen 443") :], re.M)
    lists = next(block for where, block in locations.items() if "leaderboard" in where)
    pattern = next(where for where in locations if "leaderboard" in where).removeprefix("~ ")
    for name in ("leaderboard-raw", "leaderboard-formatted"):
        assert re.fullmatch(pattern, reverse(name)), name
    assert re.fullmatch(pattern, "/api/leaderboard/other") is None
    assert "gzip off;" in lists

    from leaderboard_site.routing import websocket_urlpatterns

    sockets = {f"/{p.pattern}" for p in websocket_urlpatterns if str(p.pattern)}
    assert sockets == {"/ws", "/graphql"}
    for path in sockets:
        assert "proxy_pass http://leaderboard_web;" in locations[f"= {path}"]
    assert "proxy_set_header Connection $connection_upgrade;" in text

    static = compose_settings["collectstatic"]
    alias = re.search(r"alias\s+(\S+);", locations["/" + static["static_url"].lstrip("/")])
    assert alias is not None
    assert alias.group(1) == static["static_root"] + "/"


def test_nginx_accepts_the_site(tmp_path: Path) -> None:
    binary = nginx_binary()
    prefix = nginx_prefix(tmp_path)
    # Compose's `web` resolves only on its network: the one change, to an address that resolves.
    site = NGINX.read_text().replace("server web:7860;", "server 127.0.0.1:7860;")
    conf = nginx_conf(prefix, site)
    done = subprocess.run(
        [binary, "-t", "-q", "-p", str(prefix), "-c", str(conf)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
