"""Who may act for what beyond `<api>:read|write`: organ scope and the finer scopes.

Organ scope: a consumer acts for the organ its token names (the `organ` claim) and every organ
below it in the organ hierarchy; a province-level consumer (the UBND tỉnh) acts for all. The
hierarchy is the shared reference catalogue (`contracts.reference.organs()`) unless a service
passes its own parent lookup (documents keeps a directory of its own). With authentication
switched off (`auth_required` False) the scope is unrestricted.

Finer scopes guard routes that change what every organ relies on (the procedure catalogue, the
province's declared indicator rows). The gateway checks `<api>:read|write` per method; the
service checks the finer scope on the routes it guards. A consumer holds one only when its
registration names it: the default grants stay `<api>:read` and `<api>:write`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Annotated, Any

from fastapi import Depends, Request

from contracts import reference
from lgsp_kit.errors import ProblemError
from lgsp_kit.tokens import Claims

ParentOf = Callable[[str], str | None]

# The organ hierarchy is four levels deep (province, province organ or district, commune); a
# walk longer than this is a cycle in a directory and covers nothing.
MAX_DEPTH = 8

CATALOGUE_SCOPE = "dossier:catalogue"
DECLARE_SCOPE = "reporting:declare"
AXIS_SCOPE = "documents:axis"
# Per API context, the finer scopes a registration may grant besides read and write.
FINER_SCOPES: dict[str, tuple[str, ...]] = {
    "dossier": (CATALOGUE_SCOPE,),
    "reporting": (DECLARE_SCOPE,),
    "documents": (AXIS_SCOPE,),
}


def finer_scopes(apis: Iterable[str]) -> list[str]:
    """The finer scopes grantable with these subscriptions."""
    return [s for api in apis for s in FINER_SCOPES.get(api, ())]


class OutOfScope(ProblemError):
    status = 403
    code = "organ_out_of_scope"


def reference_parent(code: str) -> str | None:
    organ = reference.organs().get(code)
    return organ.parent_code if organ is not None else None


def is_province(code: str) -> bool:
    """The province's own organ (the UBND tỉnh) in the reference catalogue."""
    organ = reference.organs().get(code)
    return organ is not None and organ.level == "province"


@dataclass(frozen=True)
class OrganScope:
    """`organ` None means unrestricted (authentication switched off); "" means no organ."""

    organ: str | None
    parent_of: ParentOf = reference_parent

    @property
    def unrestricted(self) -> bool:
        return self.organ is None or is_province(self.organ)

    def over(self, parent_of: ParentOf) -> OrganScope:
        """The same caller over another directory's hierarchy."""
        return replace(self, parent_of=parent_of)

    def covers(self, code: str) -> bool:
        if self.unrestricted:
            return True
        if not self.organ:
            return False
        current: str | None = code
        for _ in range(MAX_DEPTH):
            if current is None:
                return False
            if current == self.organ:
                return True
            current = self.parent_of(current)
        return False

    def require(self, code: str, *, acting_as: str) -> None:
        if not self.covers(code):
            raise OutOfScope(
                f"the caller acts for {self.organ or 'no organ'} and the organs under it, "
                f"not for {code} ({acting_as})"
            )

    def require_any(self, codes: Iterable[str], *, what: str) -> None:
        if not any(self.covers(c) for c in codes):
            raise OutOfScope(
                f"the caller acts for {self.organ or 'no organ'} and the organs under it, "
                f"none of which is {what}"
            )

    def reference_organs(self) -> frozenset[str] | None:
        """The codes of the reference catalogue this scope covers; None when it covers all
        (a query then needs no organ filter)."""
        if self.unrestricted:
            return None
        return frozenset(code for code in reference.organs() if self.covers(code))


def _caller(request: Request) -> Claims | None:
    """The verified token of this request; None when authentication is switched off."""
    if not request.app.state.runtime.settings.auth_required:
        return None
    claims: Claims | None = getattr(request.state, "caller", None)
    if claims is None:
        # The service's guard (lgsp_kit.auth.authorise) runs before any route dependency.
        raise ProblemError("a Bearer access token is required", status=401, code="missing_token")
    return claims


def caller_scope(request: Request) -> OrganScope:
    """The caller's organ scope over the reference hierarchy."""
    claims = _caller(request)
    return OrganScope(organ=None if claims is None else claims.organ or "")


# Dependencies that do no I/O are coroutines: FastAPI would run a plain `def` in a pool thread.
async def organ_scope(request: Request) -> OrganScope:
    return caller_scope(request)


OrganScopeDep = Annotated[OrganScope, Depends(organ_scope)]


def needs_scope(scope: str) -> Any:
    """A route dependency refusing (403 `insufficient_scope`) a token without `scope`."""

    async def check(request: Request) -> None:
        claims = _caller(request)
        if claims is not None and scope not in claims.scopes:
            raise ProblemError(
                f"the token lacks the scope {scope}", status=403, code="insufficient_scope"
            )

    return Depends(check)
