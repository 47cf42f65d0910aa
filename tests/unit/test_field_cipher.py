"""Field encryption: HKDF-derived keys with ids, rotation, typed failures, the layout before key ids."""
from __future__ import annotations

import logging

import pytest

from shared.privacy import FieldCipher, FieldKeyError
from shared.settings import DEV_FIELD_KEY, Settings

OLD = "SwIvRQgCTKgSqMeTIAP-ln-e7tkYHiSSmb3D961uatQ"
NEW = "kNr6OdkmJBuxO3NnIWdkIH71v2nVtWgVicDPLTbOfzs"
# Written by the cipher before key ids (sha256(secret) as a Fernet key) under the dev key, as
# a stored `make run` demo holds them; and that layout's blind index of the ID number.
LEGACY_PHONE = ("gAAAAABrFSPqCr_lfYYxdfqxwkhf01H87LVZrGeTEefjwcr9kF5afGMsGCwQuC8Bxh1pxWxKC5nXrmMGuyDaHLl2"
                "BH3pytZBew==")
LEGACY_ID = ("gAAAAABrFSPqpr-v35-ExItj_nBIh5y_drPoGprA3ZU3rRHosrPKN04HA4mPL8jmAvUlfHHAREWEtY6akbsXXlCmfsf-"
             "qQhp2fhXU0gK7nwvgCgxjsm7J8E=")
LEGACY_ID_INDEX = "63592b807cbb4e3db4bd4b9ae6b122e5"


def test_a_field_round_trips_under_a_named_derived_key():
    c = FieldCipher({"k1": OLD}, "k1")
    token = c.encrypt("13812345678")
    assert token.startswith("v2:k1:") and "13812345678" not in token
    assert c.decrypt(token) == "13812345678" and c.is_current(token)
    assert c.encrypt("13812345678") != token  # a fresh nonce every time
    assert c.decrypt(None) is None and c.encrypt(None) is None
    # the key is derived from the secret and the id: the same secret under another id is another key
    with pytest.raises(FieldKeyError):
        FieldCipher({"k9": OLD}, "k9").decrypt(token.replace("v2:k1:", "v2:k9:"))


def test_rotation_old_keys_decrypt_new_writes_use_the_current_one():
    before = FieldCipher({"k1": OLD}, "k1")
    token = before.encrypt("110101198005041234")
    ring = FieldCipher({"k1": OLD, "k2": NEW}, "k2")
    assert ring.decrypt(token) == "110101198005041234" and not ring.is_current(token)
    again = ring.encrypt(ring.decrypt(token))
    assert again.startswith("v2:k2:") and ring.is_current(again)
    assert FieldCipher({"k2": NEW}, "k2").decrypt(again) == "110101198005041234"  # k1 removed: still reads
    # exact-match lookups find values indexed under the older key until they are rewritten
    assert ring.blind_index("x") != before.blind_index("x")
    assert ring.blind_indexes("x")[0] == ring.blind_index("x") and before.blind_index("x") in ring.blind_indexes("x")


def test_a_wrong_or_missing_key_is_an_error_with_an_operator_log_line_not_none(caplog):
    token = FieldCipher({"k1": OLD}, "k1").encrypt("13812345678")
    caplog.set_level(logging.ERROR, logger="yiwang.privacy")
    with pytest.raises(FieldKeyError, match="key 'k1', which is not configured") as unknown:
        FieldCipher({"k2": NEW}, "k2").decrypt(token)
    with pytest.raises(FieldKeyError, match="does not open"):
        FieldCipher({"k1": NEW}, "k1").decrypt(token)  # the id reused for another secret
    with pytest.raises(FieldKeyError):
        FieldCipher({"k1": OLD}, "k1").decrypt(token[:-6] + "AAAAAA")  # damaged
    with pytest.raises(FieldKeyError, match="before key ids"):
        FieldCipher({"k1": NEW}, "k1").decrypt(LEGACY_PHONE)
    assert unknown.value.code == "INTERNAL"  # the gateway answers INTERNAL_SERVER_ERROR, masked
    assert len(caplog.records) == 4 and all("13812345678" not in r.getMessage() and token not in r.getMessage()
                                            for r in caplog.records)


def test_fields_written_before_key_ids_still_decrypt_and_match():
    c = FieldCipher.from_settings(Settings())  # the development key, as a stored demo was written
    assert c.decrypt(LEGACY_PHONE) == "13812345678" and c.decrypt(LEGACY_ID) == "110101198005041234"
    assert not c.is_current(LEGACY_PHONE)
    assert LEGACY_ID_INDEX in c.blind_indexes("110101198005041234")
    # ... and after a rotation, with the development key among the old ones
    rotated = FieldCipher({"k1": DEV_FIELD_KEY, "k2": NEW}, "k2")
    assert rotated.decrypt(LEGACY_PHONE) == "13812345678"
    assert LEGACY_ID_INDEX in rotated.blind_indexes("110101198005041234")


def test_the_key_ring_comes_from_the_settings():
    s = Settings(field_key=NEW, field_key_id="k2", old_field_keys={"k1": OLD})
    assert s.field_keys == {"k1": OLD, "k2": NEW}
    c = FieldCipher.from_settings(s)
    assert c.key_id == "k2" and c.key_ids == ["k1", "k2"]
    with pytest.raises(ValueError, match="give the new key a new id"):
        Settings(field_key=NEW, field_key_id="k1", old_field_keys={"k1": OLD})
    with pytest.raises(ValueError, match="field key id"):
        Settings(field_key_id="k:1")
    with pytest.raises(ValueError, match="may not be empty"):
        Settings(old_field_keys={"k0": ""})
