"""`python -m services.organizations`: the party organisation tree, members, 双报到, joint meetings."""
import asyncio
import logging

from services.organizations.app import create_runtime
from shared.settings import get_settings

if __name__ == "__main__":
    settings = get_settings()
    logging.basicConfig(level=settings.log_level,
                        format="%(asctime)s organizations %(levelname)s %(name)s: %(message)s")
    asyncio.run(create_runtime(settings).app.run())
