"""`all_of`: filters joined flat where the store can plan them on its indexes, `$and` only when needed."""
from shared.mongo import all_of


def test_disjoint_fields_join_flat():
    assert all_of({"webhookId": "w1"}, {"_id": {"$lt": "d9"}}) == {"webhookId": "w1", "_id": {"$lt": "d9"}}
    assert all_of({"_id": "w1"}, {}) == {"_id": "w1"}


def test_a_shared_field_or_an_operator_keeps_and():
    assert all_of({"_id": "a"}, {"_id": {"$lt": "b"}}) == {"$and": [{"_id": "a"}, {"_id": {"$lt": "b"}}]}
    scoped = {"$or": [{"path": "c1"}, {"owner": "u1"}]}
    assert all_of({"_id": "w1"}, scoped) == {"$and": [{"_id": "w1"}, scoped]}
