"""Every client of the platform acknowledges a write only once it is safe: `w: majority,
j: true`, on a MongoDB replica set and on the embedded store alike; a URL that asks for less
is refused with the reason."""
from __future__ import annotations

import pytest

from shared.embedded import mongo_command
from shared.mongo import make_client, write_concern_of

EMBEDDED = "mongodb://127.0.0.1:27017/?directConnection=true&retryWrites=false"
REPLICA_SET = "mongodb://mongo-0.mongo:27017,mongo-1.mongo:27017/?replicaSet=rs0"


@pytest.mark.parametrize("uri", [EMBEDDED, REPLICA_SET, REPLICA_SET + "&w=majority", REPLICA_SET + "&w=3",
                                 REPLICA_SET + "&journal=true"])
async def test_clients_ask_for_majority_journaled_writes(uri):
    client = make_client(uri, "test")
    try:
        wc = client.write_concern.document
        assert wc["j"] is True
        assert wc["w"] == (3 if "w=3" in uri else "majority")
    finally:
        await client.close()


@pytest.mark.parametrize("weaker", ["&w=1", "&w=0", "&journal=false", "&w=1&journal=true"])
def test_a_url_asking_for_weaker_writes_is_refused(weaker):
    with pytest.raises(ValueError, match="weaker than w=majority, journal=true"):
        write_concern_of(REPLICA_SET + weaker)


def test_the_embedded_store_runs_with_a_synced_log(tmp_path):
    assert "--sync-on-commit" in mongo_command(27017, tmp_path)
