"""`python -m services.organizations`: the party organisation tree, members, 双报到, joint meetings."""

import asyncio

from services.organizations.app import create_runtime
from shared.logs import configure_logging
from shared.settings import get_settings
from shared.tracing import configure_tracing

if __name__ == "__main__":
    settings = get_settings()
    configure_logging("organizations", settings.log_level)
    configure_tracing("organizations", settings.otlp_endpoint)
    asyncio.run(create_runtime(settings).app.run())
