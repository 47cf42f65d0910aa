"""Production mode cannot be half-on: one parsed YIWANG_ENV, and no process of it starts with a
development, published or weak secret."""
from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.app import create_app
from ops.cli.main import main as yiwang
from shared.production import check_production, weakness
from shared.settings import (
    DEV_FIELD_KEY,
    DEV_JWT_SECRET,
    Environment,
    InvalidSettings,
    Settings,
    get_settings,
    load_settings,
)

ROOT = Path(__file__).resolve().parents[2]
JWT = "TK2In4fNCy8-B1lQFD1nOWzi_2EAQCQei-iLffOqDmk"
FIELD = "_SKHz8TcIUzEvJFvSmb622FEt4URmdqX5Tge4Y0gM7s"
SERVICES = ("grids", "cases", "organizations", "volunteers", "notifications")


@pytest.fixture(autouse=True)
def fresh_settings():
    """`yiwang` reads the environment once per process: read it again for each case."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize("value", ["production", "Production", "PRODUCTION", " production\n"])
def test_env_is_read_in_any_case(value, monkeypatch):
    monkeypatch.setenv("YIWANG_ENV", value)
    assert load_settings().env is Environment.PRODUCTION and load_settings().production


@pytest.mark.parametrize("value", ["prod", "PROD", "live", "staging", "", "production1"])
def test_an_unknown_env_stops_every_process(value, monkeypatch, capsys):
    monkeypatch.setenv("YIWANG_ENV", value)
    with pytest.raises(InvalidSettings, match="YIWANG_ENV: .* is not one of development, test, production"):
        load_settings()
    with pytest.raises(SystemExit) as refused:  # the same through the command line
        yiwang(["token", "--role", "superadmin"])
    assert "refusing to start" in str(refused.value.code) and capsys.readouterr().out == ""


@pytest.mark.parametrize("secret", [
    DEV_JWT_SECRET, DEV_FIELD_KEY, "change-me", "a", "CHANGE-ME-change-me-CHANGE-ME-change-me",
    "x" * 64, "0123456789abcdef" * 4, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP",
    "a-production-secret-of-sufficient-length", "yiwang-production-jwt-secret-2026-county",
    "Sk8h3Zq9",  # random but short
])
def test_published_short_and_guessable_secrets_are_weak(secret):
    reason = weakness(secret)
    assert reason is not None and (len(secret) < 4 or secret not in reason)


def test_generated_secrets_are_not_weak():
    assert weakness(JWT) is None and weakness(FIELD) is None
    assert weakness("3f9a1c27d8e04b6a95c2e7f1d0a8b4c6") is None  # `openssl rand -hex 16`


def test_the_example_values_in_deploy_are_refused():
    example = (ROOT / "deploy/k8s/secret.example.yaml").read_text()
    values = dict(re.findall(r"^\s+(YIWANG_\w+): (\S+)$", example, re.M))
    assert {"YIWANG_JWT_SECRET", "YIWANG_FIELD_KEY"} <= values.keys()
    for value in values.values():
        assert weakness(value) is not None


def test_check_names_every_problem_and_no_secret():
    with pytest.raises(InvalidSettings) as refused:
        check_production(Settings(env="production", jwt_secret="change-me", field_key=DEV_FIELD_KEY, fault="x"),
                         "the cases service")
    message = str(refused.value.code)
    assert message.startswith("refusing to start: the cases service runs with YIWANG_ENV=production")
    for part in ("YIWANG_JWT_SECRET is a development or example value", "YIWANG_FIELD_KEY is a development",
                 "YIWANG_FAULT", "openssl rand -base64 32", "YIWANG_JWKS_URL"):
        assert part in message
    assert "change-me" not in message and DEV_FIELD_KEY not in message
    with pytest.raises(InvalidSettings, match="the same secret"):
        check_production(Settings(env="production", jwt_secret=JWT, field_key=JWT, jwks_url="https://sso.example.gov.cn/jwks"))
    check_production(Settings(env="production", jwt_secret=JWT, field_key=FIELD, jwks_url="https://sso.example.gov.cn/jwks"))
    with pytest.raises(InvalidSettings, match="YIWANG_JWKS_URL is not set"):
        check_production(Settings(env="production", jwt_secret=JWT, field_key=FIELD))
    with pytest.raises(InvalidSettings, match="must be https"):
        check_production(Settings(env="production", jwt_secret=JWT, field_key=FIELD, jwks_url="http://sso/jwks"))
    check_production(Settings(env="development"))  # development and test may use the dev secrets
    check_production(Settings(env="test"))


def test_a_weak_old_key_may_stay_for_reading_with_a_warning(caplog):
    caplog.set_level(logging.WARNING, logger="yiwang.production")
    check_production(Settings(env="production", jwt_secret=JWT, field_key=FIELD, field_key_id="k2", jwks_url="https://sso.example.gov.cn/jwks",
                              old_field_keys={"k1": DEV_FIELD_KEY}))
    assert "old field key 'k1' is weak" in caplog.text and DEV_FIELD_KEY not in caplog.text


def test_every_service_runtime_and_the_gateway_refuse_weak_secrets_in_production():
    weak = [Settings(env="production"),  # the development secrets
            Settings(env="Production", jwt_secret="a", field_key=FIELD, jwks_url="https://sso.example.gov.cn/jwks"),
            Settings(env="PRODUCTION", jwt_secret=JWT, field_key="change-me", jwks_url="https://sso.example.gov.cn/jwks")]
    for settings in weak:
        for name in SERVICES:
            module = __import__(f"services.{name}.app", fromlist=["create_runtime"])
            with pytest.raises(InvalidSettings, match=f"the {name} service runs with YIWANG_ENV=production"):
                module.create_runtime(settings)
    for settings in weak[:2]:
        with pytest.raises(InvalidSettings, match="the gateway runs with YIWANG_ENV=production"):
            create_app(settings)
    # The gateway encrypts nothing: it needs no field key, but refuses a weak one it is given.
    create_app(Settings(env="production", jwt_secret=JWT, jwks_url="https://sso.example.gov.cn/jwks"))
    with pytest.raises(InvalidSettings, match="YIWANG_FIELD_KEY"):
        create_app(weak[2])


def test_cli_commands_refuse_weak_secrets_in_production(monkeypatch):
    monkeypatch.setenv("YIWANG_ENV", "production")
    monkeypatch.setenv("YIWANG_JWT_SECRET", "change-me")
    for argv in (["token", "--role", "superadmin"], ["rekey", "--check"], ["replay", "cases"],
                 ["seed", "--demo"], ["up"]):
        with pytest.raises(InvalidSettings, match=f"yiwang {argv[0]} runs with YIWANG_ENV=production"):
            yiwang(argv)
    monkeypatch.setenv("YIWANG_JWT_SECRET", JWT)
    with pytest.raises(InvalidSettings, match="YIWANG_FIELD_KEY"):
        yiwang(["up"])  # it starts the services, which need a field key


def test_each_process_exits_at_start_with_the_reason():
    """The real entry points, as `yiwang up`, compose or Kubernetes start them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("YIWANG_")}
    env.update(YIWANG_ENV="Production", YIWANG_JWT_SECRET="change-me", YIWANG_FIELD_KEY=FIELD,
               YIWANG_NATS_URL="nats://127.0.0.1:9", YIWANG_MONGO_URL="mongodb://127.0.0.1:9/")
    modules = [f"services.{name}" for name in SERVICES] + ["gateway"]
    procs = {m: subprocess.Popen([sys.executable, "-m", m], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for m in modules}
    for module, proc in procs.items():
        out, err = proc.communicate(timeout=120)  # refusing takes an import and a check, not a connection
        assert proc.returncode == 1, (module, out, err)
        assert "refusing to start" in err and "YIWANG_JWT_SECRET is a development or example value" in err
        assert "Traceback" not in err and "change-me" not in err
