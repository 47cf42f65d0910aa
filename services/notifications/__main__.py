"""`python -m services.notifications`: the inbox, preferences and SMS/WeChat messages of every event."""

import asyncio

from services.notifications.app import create_runtime
from shared.logs import configure_logging
from shared.settings import get_settings
from shared.tracing import configure_tracing

if __name__ == "__main__":
    settings = get_settings()
    configure_logging("notifications", settings.log_level)
    configure_tracing("notifications", settings.otlp_endpoint)
    asyncio.run(create_runtime(settings).app.run())
