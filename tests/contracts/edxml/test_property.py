"""Any package the model can hold reads back field for field after `write`."""

from __future__ import annotations

from datetime import datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.edxml import (
    VIETNAM,
    Attachment,
    Business,
    BusinessDocType,
    Code,
    DocumentPackage,
    DocumentType,
    ManifestReference,
    Organ,
    OtherInfo,
    PromulgationInfo,
    ResponseFor,
    SignerInfo,
    StaffInfo,
    StatusPackage,
    TraceHeader,
    read,
    write,
)

# Values as XML carries them: no control characters, no surrounding whitespace (values are
# stripped on reading, a named tolerance), never empty (an empty element reads as absent).
text = (
    st.text(
        st.characters(categories=("L", "N", "P", "S", "Zs"), exclude_characters="\x85\xa0"),
        min_size=1,
        max_size=30,
    )
    .map(str.strip)
    .filter(bool)
)
maybe = st.none() | text
small = st.integers(min_value=0, max_value=10_000)
days = st.dates(min_value=datetime(1990, 1, 1).date(), max_value=datetime(2100, 1, 1).date())
times = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(VIETNAM)
).map(lambda t: t.replace(microsecond=0))
organs = st.builds(Organ, organ_id=text, organ_name=maybe, email=maybe, website=maybe)
staff = st.builds(StaffInfo, department=maybe, staff=maybe, email=maybe, mobile=maybe)
answers = st.builds(
    ResponseFor, organ_id=maybe, code=maybe, promulgation_date=st.none() | days, document_id=text
)

documents = st.builds(
    DocumentPackage,
    from_=organs,
    to=st.lists(organs, min_size=1, max_size=3).map(tuple),
    code=st.builds(Code, code_number=text, code_notation=text),
    promulgation_info=st.builds(PromulgationInfo, place=maybe, promulgation_date=days),
    document_type=st.builds(
        DocumentType, type=small, type_detail=st.none() | small, type_name=maybe
    ),
    subject=text,
    document_id=maybe,
    content=maybe,
    signer_info=st.none()
    | st.builds(SignerInfo, competence=maybe, position=maybe, full_name=maybe),
    due_date=st.none() | days,
    to_places=st.lists(text, max_size=2).map(tuple),
    other_info=st.none()
    | st.builds(
        OtherInfo,
        priority=st.none() | small,
        page_amount=st.none() | small,
        direction=st.none() | st.booleans(),
        appendixes=st.lists(text, max_size=2).map(tuple),
    ),
    response_for=st.none() | answers,
    steering_type=st.none() | small,
    trace_headers=st.lists(st.builds(TraceHeader, organ_id=text, timestamp=times), max_size=2).map(
        tuple
    ),
    business=st.none()
    | st.builds(
        Business,
        doc_type=st.sampled_from(BusinessDocType),
        reason=maybe,
        document_id=maybe,
        paper=st.none() | small,
        staff_info=st.none() | staff,
    ),
    manifest=st.lists(
        st.builds(ManifestReference, content_id=text, attachment_name=maybe), max_size=2
    ).map(tuple),
    attachments=st.lists(
        st.builds(
            Attachment,
            content_id=text,
            name=text,
            content_type=maybe,
            content=st.binary(max_size=64),
        ),
        max_size=2,
    ).map(tuple),
)

statuses = st.builds(
    StatusPackage,
    from_=organs,
    response_for=answers,
    status_code=st.sampled_from(["01", "02", "03", "04", "05", "06", "13", "15", "16"]),
    timestamp=times,
    description=maybe,
    staff_info=st.none() | staff,
)


@settings(max_examples=60, deadline=None)
@given(documents)
def test_any_document_package_reads_back(package: DocumentPackage) -> None:
    assert read(write(package)) == package


@settings(max_examples=40, deadline=None)
@given(statuses)
def test_any_status_package_reads_back(package: StatusPackage) -> None:
    assert read(write(package)) == package
