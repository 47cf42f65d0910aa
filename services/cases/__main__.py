"""`python -m services.cases`: residents' requests and disputes, routed to the grid."""

import asyncio

from services.cases.app import create_runtime
from shared.logs import configure_logging
from shared.settings import get_settings
from shared.tracing import configure_tracing

if __name__ == "__main__":
    settings = get_settings()
    configure_logging("cases", settings.log_level)
    configure_tracing("cases", settings.otlp_endpoint)
    asyncio.run(create_runtime(settings).app.run())
