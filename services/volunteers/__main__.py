"""`python -m services.volunteers`: posts, residents' service orders, activities, hours and points."""
import asyncio
import logging

from services.volunteers.app import create_runtime
from shared.settings import get_settings

if __name__ == "__main__":
    settings = get_settings()
    logging.basicConfig(level=settings.log_level,
                        format="%(asctime)s volunteers %(levelname)s %(name)s: %(message)s")
    asyncio.run(create_runtime(settings).app.run())
