"""`python -m services.volunteers`: posts, residents' service orders, activities, hours and points."""

import asyncio

from services.volunteers.app import create_runtime
from shared.logs import configure_logging
from shared.settings import get_settings
from shared.tracing import configure_tracing

if __name__ == "__main__":
    settings = get_settings()
    configure_logging("volunteers", settings.log_level)
    configure_tracing("volunteers", settings.otlp_endpoint)
    asyncio.run(create_runtime(settings).app.run())
