"""The application services `yiwang up` runs and `yiwang asyncapi` documents (a module of its own:
the commands that only need the names do not load the launcher and its supervisor)."""

from __future__ import annotations

SERVICES: tuple[str, ...] = ("grids", "cases", "organizations", "volunteers")
# notifications: the inbox, SMS/WeChat and webhooks of every service's events
SERVICES += ("notifications",)
