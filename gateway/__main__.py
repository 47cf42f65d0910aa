"""`python -m gateway`: the GraphQL gateway on uvicorn."""
import logging

import uvicorn

from gateway.app import create_app
from gateway.limits import server_options
from shared.settings import get_settings

if __name__ == "__main__":
    settings = get_settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s gateway %(levelname)s %(name)s: %(message)s")
    uvicorn.run(create_app(settings), host=settings.http_host, port=settings.http_port,
                log_level="warning", timeout_graceful_shutdown=10, ws="websockets-sansio",
                **server_options(settings))
