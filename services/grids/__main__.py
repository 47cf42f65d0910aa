"""`python -m services.grids`: the territory service."""

import asyncio

from services.grids.app import create_runtime
from shared.logs import configure_logging
from shared.settings import get_settings
from shared.tracing import configure_tracing

if __name__ == "__main__":
    settings = get_settings()
    configure_logging("grids", settings.log_level)
    configure_tracing("grids", settings.otlp_endpoint)
    asyncio.run(create_runtime(settings).app.run())
