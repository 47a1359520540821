"""Configuration errors stop start-up with one line naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from enterprise.config import database_from_url

ROOT = Path(__file__).resolve().parent.parent


def _check(**env: str) -> subprocess.CompletedProcess:
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "SECRET_KEY", "DEBUG", "PORT"}
    }
    base.update({"SECRET_KEY": "s" * 50, "DATABASE_URL": "sqlite:///var/cfg.sqlite3", **env})
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"SECRET_KEY": "", "DEBUG": "0"}, "SECRET_KEY"),
        ({"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL"),
        ({"PORT": "seventy"}, "PORT"),
        ({"PORT": "70000"}, "PORT"),
        ({"DEBUG": "perhaps"}, "DEBUG"),
        ({"JWT_SECRET": "short"}, "JWT_SECRET"),
    ],
)
def test_bad_environment_is_a_one_line_error_naming_the_variable(env, variable):
    result = _check(**env)
    assert result.returncode == 2
    assert result.stderr.strip().startswith(f"configuration error: {variable}:")
    assert "Traceback" not in result.stderr


def test_database_urls_map_to_engines(tmp_path):
    assert database_from_url("sqlite:///var/x.sqlite3", base_dir=tmp_path)["NAME"] == str(
        tmp_path / "var/x.sqlite3"
    )
    assert (
        database_from_url("sqlite:////abs/x.sqlite3", base_dir=tmp_path)["NAME"] == "/abs/x.sqlite3"
    )
    pg = database_from_url(
        "postgres://u:p%40ss@db.example:5433/app?sslmode=require", base_dir=tmp_path
    )
    assert (pg["ENGINE"], pg["USER"], pg["PASSWORD"], pg["HOST"], pg["PORT"], pg["NAME"]) == (
        "enterprise.db.postgresql",
        "u",
        "p@ss",
        "db.example",
        "5433",
        "app",
    )
    assert pg["OPTIONS"]["sslmode"] == "require" and pg["CONN_HEALTH_CHECKS"] is True
    mongo = database_from_url("mongodb://h1,h2/enterprise?replicaSet=rs0", base_dir=tmp_path)
    assert (mongo["ENGINE"], mongo["NAME"]) == ("django_mongodb_backend", "enterprise")
    assert mongo["OPTIONS"]["serverSelectionTimeoutMS"] <= 2000
    for bad in ["postgres://host", "mongodb://host", "ftp://x/y", "sqlite://"]:
        with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
            database_from_url(bad, base_dir=tmp_path)


def test_offline_commands_run_without_the_secrets_but_serving_commands_do_not():
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "JWT_SECRET", "DEBUG"}}
    env["DATABASE_URL"] = "sqlite:///var/cfg.sqlite3"
    offline = subprocess.run(
        [sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert offline.returncode == 0, offline.stderr
    serving = subprocess.run(
        [sys.executable, "manage.py", "issue_token", "--role", "platform_admin"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert serving.returncode == 2 and "SECRET_KEY" in serving.stderr
