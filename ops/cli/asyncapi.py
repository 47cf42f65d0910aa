"""`yiwang asyncapi SERVICE`: the AsyncAPI 3.0 document of a service's events."""

from __future__ import annotations

import argparse
import importlib
import json

from ops.cli.services import SERVICES
from shared.settings import Settings

DOCUMENTED = SERVICES  # every service publishes events and documents them (shared/asyncapi.py)


def asyncapi_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("service", choices=DOCUMENTED)


def asyncapi(args: argparse.Namespace, settings: Settings) -> int:
    """print the AsyncAPI document of a service's events"""
    from shared.asyncapi import spec

    app = importlib.import_module(f"services.{args.service}.app")
    print(json.dumps(spec(app.create_runtime(settings)), ensure_ascii=False, indent=2))
    return 0
