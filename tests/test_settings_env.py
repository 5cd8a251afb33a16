"""Settings come from the environment; a bad value fails at start naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from leaderboard_site.env import Env, read_dotenv
from leaderboard_site.logconfig import build_logging
from tests.conftest import manage

PROJECT = Path(__file__).parent.parent


def test_typed_values_and_defaults() -> None:
    env = Env(
        {"PORT": "8000", "ENABLE_SWAGGER": "off", "CORS_ORIGINS": '["https://a.b", "https://c.d"]'}
    )
    assert env.int("PORT", 7860) == 8000
    assert env.int("MISSING", 7860) == 7860
    assert env.bool("ENABLE_SWAGGER", True) is False
    assert env.list("CORS_ORIGINS") == ["https://a.b", "https://c.d"]
    assert Env({"CORS_ORIGINS": "https://a.b,https://c.d"}).list("CORS_ORIGINS") == [
        "https://a.b",
        "https://c.d",
    ]
    assert Env({"LOG_LEVELS": "celery=WARNING, leaderboard=DEBUG"}).mapping("LOG_LEVELS") == {
        "celery": "WARNING",
        "leaderboard": "DEBUG",
    }


@pytest.mark.parametrize(
    ("name", "value", "read"),
    [
        ("PORT", "seventy", lambda e: e.int("PORT", 1)),
        ("PORT", "0", lambda e: e.int("PORT", 1, minimum=1)),
        ("ENABLE_SWAGGER", "maybe", lambda e: e.bool("ENABLE_SWAGGER", True)),
        (
            "ENVIRONMENT",
            "staging",
            lambda e: e.choice("ENVIRONMENT", ["development"], "development"),
        ),
        ("LOG_LEVELS", "celery", lambda e: e.mapping("LOG_LEVELS")),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str, read: object) -> None:
    with pytest.raises(ImproperlyConfigured, match=name):
        read(Env({name: value}))  # type: ignore[operator]


def test_bad_log_level_per_component() -> None:
    with pytest.raises(ImproperlyConfigured, match="celery"):
        build_logging("INFO", {"celery": "LOUD"})


def test_dotenv_file_is_read_and_environment_wins(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("# comment\nexport PORT=9000\nCACHE_TTL='60'\n\nHF_ORGANIZATION=acme\n")
    env = Env({"HF_ORGANIZATION": "from-process"}, read_dotenv(dotenv))
    assert env.int("PORT", 1) == 9000
    assert env.int("CACHE_TTL", 1) == 60
    assert env.str("HF_ORGANIZATION") == "from-process"
    dotenv.write_text("no equals sign here\n")
    with pytest.raises(ImproperlyConfigured, match=r"\.env:1"):
        read_dotenv(dotenv)


LONG_KEY = {"SECRET_KEY": "k" * 32}
LONG_JWT = {"JWT_SECRET": "j" * 32}


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"PORT": "abc"}, "PORT"),
        ({"BIND_ADDRESS": "nowhere"}, "BIND_ADDRESS"),
        ({"WS_BIND_ADDRESS": "127.0.0.1"}, "WS_BIND_ADDRESS"),
        ({"SERVER": "uwsgi"}, "SERVER"),
        ({"LEADERBOARD_API": "frontend"}, "LEADERBOARD_API"),
        ({"ENVIRONMENT": "production"}, "SECRET_KEY"),
        ({"ENVIRONMENT": "production", "SECRET_KEY": "short", **LONG_JWT}, "SECRET_KEY"),
        ({"ENVIRONMENT": "production", **LONG_KEY, "JWT_SECRET": "x"}, "JWT_SECRET"),
        ({"ENVIRONMENT": "production", **LONG_KEY, **LONG_JWT, "DEBUG": "true"}, "DEBUG"),
        ({"CACHE_TTL": "-5"}, "CACHE_TTL"),
    ],
)
def test_the_server_refuses_to_start_with_a_bad_setting(
    tmp_path: Path, environ: dict[str, str], named: str
) -> None:
    result = manage("check", VAR_DIR=str(tmp_path), **environ)
    assert result.returncode != 0
    assert named in result.stderr.splitlines()[-1]


def test_every_variable_read_is_documented_in_env_example() -> None:
    import re

    settings_source = (PROJECT / "leaderboard_site" / "settings" / "base.py").read_text()
    read = set(re.findall(r'env\.\w+\(\s*"([A-Z_]+)"', settings_source))
    documented = (PROJECT / ".env.example").read_text()
    assert read, "no variables found"
    assert sorted(v for v in read if v not in documented) == []


def test_production_opts_into_nothing_permissive_by_default(tmp_path: Path) -> None:
    show = (
        "from django.conf import settings as s; "
        "print(s.CORS_ALLOW_ALL_ORIGINS, s.CORS_ALLOWED_ORIGINS, s.ENABLE_SWAGGER, "
        "s.ENABLE_GRAPHIQL, s.DEBUG)"
    )
    production = {"ENVIRONMENT": "production", **LONG_KEY, **LONG_JWT, "VAR_DIR": str(tmp_path)}
    result = manage("shell", "--no-imports", "-c", show, **production)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "[]", "False", "False", "False"]
    development = manage("shell", "--no-imports", "-c", show, VAR_DIR=str(tmp_path))
    assert development.stdout.split() == ["True", "[]", "True", "True", "False"]
    opted_in = manage(
        "shell", "--no-imports", "-c", show, **production, CORS_ORIGINS="*", ENABLE_SWAGGER="true"
    )
    assert opted_in.stdout.split()[:3] == ["True", "[]", "True"]


def test_copying_env_example_to_env_opts_into_nothing_permissive() -> None:
    example = read_dotenv(PROJECT / ".env.example")
    permissive = {"DEBUG", "CORS_ORIGINS", "ENABLE_SWAGGER", "ENABLE_GRAPHIQL", "ALLOWED_HOSTS"}
    assert sorted(permissive & set(example)) == []
