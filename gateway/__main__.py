"""`python -m gateway`: the GraphQL gateway on uvicorn."""

import uvicorn

from gateway.app import create_app
from gateway.limits import server_options
from shared.logs import configure_logging
from shared.settings import get_settings
from shared.tracing import configure_tracing

if __name__ == "__main__":
    settings = get_settings()
    configure_logging("gateway", settings.log_level)
    configure_tracing("gateway", settings.otlp_endpoint)
    # log_config=None: uvicorn's loggers go through ours (JSON, masked); its access log stays
    # off (a GET request's URL carries its variables).
    uvicorn.run(
        create_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=10,
        ws="websockets-sansio",
        **server_options(settings),
    )
