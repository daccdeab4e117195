"""The one error a package that cannot be read raises."""

from __future__ import annotations


class EdxmlError(ValueError):
    """A package that is not edXML as QCVN 102:2016 defines it.

    `code` is stable (callers map it to a problem type or an exit status), `line` is the
    1-based line of the input where the fault is, when known.
    """

    def __init__(self, code: str, message: str, line: int | None = None) -> None:
        self.code = code
        self.message = message
        self.line = line
        super().__init__(f"line {line}: {message}" if line is not None else message)


# The stable codes.
NOT_WELL_FORMED = "not_well_formed"
NOT_EDXML = "not_edxml"
MISSING_ELEMENT = "missing_element"
DUPLICATE_ELEMENT = "duplicate_element"
INVALID_VALUE = "invalid_value"
INVALID_CERTIFICATE = "invalid_certificate"
