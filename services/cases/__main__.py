"""`python -m services.cases`: residents' requests and disputes, routed to the grid."""
import asyncio
import logging

from services.cases.app import create_runtime
from shared.settings import get_settings

if __name__ == "__main__":
    settings = get_settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s cases %(levelname)s %(name)s: %(message)s")
    asyncio.run(create_runtime(settings).app.run())
