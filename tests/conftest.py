from __future__ import annotations

import pytest

from tests.infra import Stack, make_settings, start_mongo, start_nats


def pytest_collection_modifyitems(config, items):
    """The longest tests first (`@pytest.mark.long(seconds)`, longest to shortest; the rest keep
    their order): split over processes, a file of long tests then runs beside the short ones,
    not alone at the end of the run."""
    def cost(item) -> float:
        marker = item.get_closest_marker("long")
        return -float(marker.args[0]) if marker else 0.0

    items.sort(key=cost)


@pytest.fixture(scope="session")
def mongo_server(tmp_path_factory):
    server = start_mongo(tmp_path_factory.mktemp("mongo"))
    yield server
    server.stop()


@pytest.fixture
def nats_server(tmp_path):
    server = start_nats(tmp_path / "nats")
    yield server
    server.stop()


@pytest.fixture
def settings(nats_server, mongo_server):
    return make_settings(nats_server.port, mongo_server.port)


@pytest.fixture
async def stack(settings):
    s = Stack(settings)
    yield s
    await s.close()


@pytest.fixture
async def gateway(stack):
    """grids in-process plus the gateway on a real port."""
    await stack.start_service("grids")
    await stack.start_gateway()
    return stack
