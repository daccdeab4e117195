"""The kit's organ scope over the reference hierarchy or a service's own, and the finer scopes."""

from __future__ import annotations

import pytest

from contracts import reference
from lgsp_kit.access import (
    AXIS_SCOPE,
    CATALOGUE_SCOPE,
    DECLARE_SCOPE,
    OrganScope,
    OutOfScope,
    finer_scopes,
)

PROVINCE = "000.00.00.H03"
CITY, CITY_WARD = "000.00.31.H03", "000.01.31.H03"
YEN_THE, YEN_THE_COMMUNE = "000.00.32.H03", "000.01.32.H03"
SO_NOI_VU = "000.00.01.H03"


def test_a_district_covers_itself_and_its_communes_only() -> None:
    city = OrganScope(CITY)
    assert city.covers(CITY) and city.covers(CITY_WARD)
    assert not city.covers(YEN_THE) and not city.covers(YEN_THE_COMMUNE)
    assert not city.covers(PROVINCE) and not city.covers(SO_NOI_VU)
    assert not city.covers("999.99.99.H03")
    assert not city.unrestricted


def test_a_commune_and_a_department_cover_themselves() -> None:
    assert OrganScope(CITY_WARD).covers(CITY_WARD)
    assert not OrganScope(CITY_WARD).covers(CITY)
    assert OrganScope(SO_NOI_VU).covers(SO_NOI_VU)
    assert not OrganScope(SO_NOI_VU).covers(CITY_WARD)


def test_the_province_and_no_authentication_cover_all() -> None:
    for scope in (OrganScope(PROVINCE), OrganScope(None)):
        assert scope.unrestricted and scope.reference_organs() is None
        assert all(scope.covers(code) for code in reference.organs())
        assert scope.covers("an organ of no catalogue")


def test_no_organ_covers_nothing() -> None:
    nobody = OrganScope("")
    assert not any(nobody.covers(code) for code in reference.organs())
    assert nobody.reference_organs() == frozenset()
    with pytest.raises(OutOfScope) as raised:
        nobody.require(CITY, acting_as="the filing organ")
    assert raised.value.status == 403 and raised.value.code == "organ_out_of_scope"


def test_reference_organs_are_the_district_and_its_communes() -> None:
    organs = OrganScope(CITY).reference_organs()
    communes = {c for c, o in reference.organs().items() if o.parent_code == CITY}
    assert organs == {CITY, *communes} and len(communes) > 10


def test_require_names_the_caller_and_the_organ() -> None:
    OrganScope(CITY).require(CITY_WARD, acting_as="the filing organ")
    with pytest.raises(OutOfScope) as raised:
        OrganScope(CITY).require(YEN_THE_COMMUNE, acting_as="the filing organ")
    assert CITY in raised.value.detail and YEN_THE_COMMUNE in raised.value.detail
    OrganScope(CITY).require_any([YEN_THE, CITY_WARD], what="a recipient")
    with pytest.raises(OutOfScope):
        OrganScope(CITY).require_any([YEN_THE, PROVINCE], what="a recipient")


def test_a_service_s_own_hierarchy_replaces_the_reference_one() -> None:
    parents = {"X.1": CITY, "X.2": "X.1", "LOOP.A": "LOOP.B", "LOOP.B": "LOOP.A"}
    city = OrganScope(CITY).over(parents.get)
    assert city.covers("X.2") and city.covers("X.1") and city.covers(CITY)
    # Walked only through the given lookup: a reference commune is not known to it.
    assert not city.covers(CITY_WARD)
    # A cycle in a directory ends the walk and covers nothing.
    assert not city.covers("LOOP.A")
    assert not OrganScope(CITY).covers("X.2")


def test_finer_scopes_per_api() -> None:
    assert finer_scopes(["dossier"]) == [CATALOGUE_SCOPE] == ["dossier:catalogue"]
    assert finer_scopes(["reporting", "documents"]) == [DECLARE_SCOPE, AXIS_SCOPE]
    assert finer_scopes(["documents"]) == [AXIS_SCOPE] == ["documents:axis"]
    assert finer_scopes(["echo"]) == []
