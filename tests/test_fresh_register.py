"""A fresh load's register on disk (graph.fresh_register) answers as the dicts it replaced."""

from __future__ import annotations

import pytest

from studygraph.graph.fresh_register import FreshRegister
from studygraph.mappings.identity import LOCAL, Identity


def test_claims_slugs_and_loaded_versions_are_kept_by_identity_and_by_slug() -> None:
    register = FreshRegister()
    try:
        one, other = Identity(LOCAL, "study-1"), Identity("https://catalogue.example", "study-1")
        assert register.slug_of(one) is None and "study-1" not in register and len(register) == 0
        register["study-1"] = one
        register["study-1-a3f"] = other  # the same identifier from another source: another record
        assert register.slug_of(one) == "study-1" and register.slug_of(other) == "study-1-a3f"
        assert register["study-1-a3f"] == other and "study-1" in register and 42 not in register
        assert sorted(register) == ["study-1", "study-1-a3f"] and len(register) == 2
        assert register.loaded(one) is None
        register.set_loaded(one, "hash-1")
        register.set_loaded(one, "hash-2")  # a later version of the same record
        assert register.loaded(one) == "hash-2" and register.loaded(other) is None
        register["study-1-moved"] = one  # an identity holds one slug: claiming another moves it
        assert "study-1" not in register and register.slug_of(one) == "study-1-moved" and register.loaded(one) == "hash-2"
        with pytest.raises(KeyError):
            register["study-1"]
        del register["study-1-moved"]
        assert register.slug_of(one) is None
        with pytest.raises(KeyError):
            del register["study-1-moved"]
    finally:
        register.close()
