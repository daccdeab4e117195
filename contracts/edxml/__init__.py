"""edXML (QCVN 102:2016/BTTTT) as the national document axis carries it: read and write
document and status packages, check their signatures, summarise one for `lgsp edxml inspect`.

    package = read(raw)          # DocumentPackage | StatusPackage, or EdxmlError with a line
    raw2 = write(package)        # the same layout; read(raw2) == package
    check_signature(raw, [pem])  # SignatureCheck(present, algorithm, valid)
    inspect(raw)                 # the JSON object of `lgsp edxml inspect`

The mapping, the tolerances and the signature policy are in docs/edxml.md.
"""

from contracts.edxml._dates import (
    VIETNAM,
    format_date,
    format_timestamp,
    parse_date,
    parse_timestamp,
)
from contracts.edxml._errors import (
    DUPLICATE_ELEMENT,
    INVALID_CERTIFICATE,
    INVALID_VALUE,
    MISSING_ELEMENT,
    NOT_EDXML,
    NOT_WELL_FORMED,
    EdxmlError,
)
from contracts.edxml._inspect import inspect
from contracts.edxml._model import (
    Attachment,
    Business,
    BusinessDocType,
    BusinessDocumentInfo,
    Code,
    DocumentPackage,
    DocumentType,
    ManifestReference,
    Organ,
    OtherInfo,
    Package,
    PromulgationInfo,
    Receiver,
    ReplacementInfo,
    ResponseFor,
    Signature,
    SignerInfo,
    StaffInfo,
    StatusPackage,
    TraceHeader,
)
from contracts.edxml._names import DS, MEDIA_TYPE, NS
from contracts.edxml._reader import read
from contracts.edxml._signature import SignatureCheck, check_signature, sign
from contracts.edxml._writer import write

__all__ = [
    "DS",
    "DUPLICATE_ELEMENT",
    "INVALID_CERTIFICATE",
    "INVALID_VALUE",
    "MEDIA_TYPE",
    "MISSING_ELEMENT",
    "NOT_EDXML",
    "NOT_WELL_FORMED",
    "NS",
    "VIETNAM",
    "Attachment",
    "Business",
    "BusinessDocType",
    "BusinessDocumentInfo",
    "Code",
    "DocumentPackage",
    "DocumentType",
    "EdxmlError",
    "ManifestReference",
    "Organ",
    "OtherInfo",
    "Package",
    "PromulgationInfo",
    "Receiver",
    "ReplacementInfo",
    "ResponseFor",
    "Signature",
    "SignatureCheck",
    "SignerInfo",
    "StaffInfo",
    "StatusPackage",
    "TraceHeader",
    "check_signature",
    "format_date",
    "format_timestamp",
    "inspect",
    "parse_date",
    "parse_timestamp",
    "read",
    "sign",
    "write",
]
