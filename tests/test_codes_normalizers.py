"""Property tests of every normaliser: never crash, idempotent, dotted and undotted agree."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import require_data
from icdbridge.codes import get_terminology
from icdbridge.codes.icd11 import ICD11
from icdbridge.errors import InvalidCodeError

SYSTEMS = ["icd9cm", "icd10cm", "icd10who", "icd11"]
SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
# Strings that look like codes of any system, so that valid inputs are generated too.
CODE_LIKE = st.from_regex(r"\A[ A-Za-z0-9.\-*+†]{0,9}\Z")
# Realistic code shapes of each system, undotted.
SHAPES = {
    "icd9cm": r"\A([0-9]{3}[0-9]{0,2}|V[0-9]{2}[0-9]{0,2}|E[0-9]{3}[0-9]?)\Z",
    "icd10cm": r"\A[A-Z][0-9][0-9A-Z][0-9A-Z]{0,4}\Z",
    "icd10who": r"\A[A-Z][0-9][0-9A-Z][0-9A-Z]{0,2}\Z",
    "icd11": r"\A[1-9A-HJ-NP-W][A-HJ-NP-Z][0-9][0-9A-HJ-NP-Z][0-9A-HJ-NP-Z]{0,2}\Z",
}


@pytest.fixture(scope="module", params=SYSTEMS)
def terminology(request):
    if request.param == "icd11":
        return ICD11(
            tabulation=require_data("who-icd11", "SimpleTabulation-ICD-11-MMS-en-2024-01.zip")
        )
    return get_terminology(request.param)


def _normalize_or_none(terminology, text):
    try:
        return terminology.normalize(text)
    except InvalidCodeError:
        return None


@SETTINGS
@given(text=st.one_of(st.text(max_size=12), CODE_LIKE))
def test_never_crashes_and_is_idempotent(terminology, text: str) -> None:
    canonical = _normalize_or_none(terminology, text)
    if canonical is not None:
        assert terminology.normalize(canonical) == canonical
        assert terminology.normalize(canonical.lower()) == canonical
        assert terminology.is_valid_syntax(text)
    else:
        assert not terminology.is_valid_syntax(text)
        assert not terminology.is_defined(text)


@SETTINGS
@given(data=st.data())
def test_dotted_and_undotted_agree_on_generated_codes(terminology, data) -> None:
    undotted = data.draw(st.from_regex(SHAPES[terminology.system]))
    canonical = terminology.normalize(undotted)
    assert terminology.to_undotted(canonical) == undotted
    assert terminology.normalize(terminology.to_dotted(undotted)) == canonical
    assert terminology.normalize(f" {canonical.lower()} ") == canonical


@SETTINGS
@given(data=st.data())
def test_defined_codes_round_trip(terminology, data) -> None:
    code = data.draw(st.sampled_from(terminology.codes()))
    assert terminology.normalize(code) == code
    assert terminology.normalize(terminology.to_undotted(code)) == code
    assert terminology.is_defined(terminology.to_undotted(code).lower())
