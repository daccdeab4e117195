"""Breaking changes between two versions of the published contracts.

The rule (CHANGELOG.md): a breaking change to an endpoint needs a new API version (`/v2`), and
to an event a new event type. Events are validated strictly (`additionalProperties: false`)
by their consumers, so any change to an event's schema other than its words is breaking.

    python -m lgsp.contracts.compat            # against the latest release tag (v*)
    python -m lgsp.contracts.compat v1.2.0     # against a given git ref
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from lgsp.contracts.artefacts import EVENT_SCHEMA_DIR, OPENAPI_DIR, ROOT

WORDS = frozenset({"description", "title", "examples", "example", "summary"})
METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options"})
PLATFORM = "contracts/openapi/platform.json"


def _without_words(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_words(v) for k, v in node.items() if k not in WORDS}
    if isinstance(node, list):
        return [_without_words(v) for v in node]
    return node


def event_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """`old`/`new`: event type → its JSON Schema."""
    found = [f"event {t}: removed" for t in sorted(set(old) - set(new))]
    for event_type in sorted(set(old) & set(new)):
        if _without_words(old[event_type]) != _without_words(new[event_type]):
            found.append(f"event {event_type}: its schema changed (publish a new event type)")
    return found


def _resolve(spec: dict[str, Any], node: Any) -> dict[str, Any]:
    while isinstance(node, dict) and "$ref" in node:
        node = spec["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node if isinstance(node, dict) else {}


def _body(spec: dict[str, Any], op: dict[str, Any]) -> dict[str, Any]:
    content = op.get("requestBody", {}).get("content", {})
    return _resolve(spec, content.get("application/json", {}).get("schema"))


def _answer(spec: dict[str, Any], op: dict[str, Any]) -> dict[str, Any]:
    for status, response in op.get("responses", {}).items():
        if status.startswith("2"):
            schema = response.get("content", {}).get("application/json", {}).get("schema")
            return _resolve(spec, schema)
    return {}


def _operations(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f"{method.upper()} {path}": op
        for path, item in spec.get("paths", {}).items()
        for method, op in item.items()
        if method in METHODS
    }


def _params(op: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{p['in']}:{p['name']}": p for p in op.get("parameters", [])}


def openapi_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What a client written against `old` would find broken in `new`."""
    found = []
    old_ops, new_ops = _operations(old), _operations(new)
    for name in sorted(set(old_ops) - set(new_ops)):
        found.append(f"{name}: removed")
    for name in sorted(set(old_ops) & set(new_ops)):
        before, after = old_ops[name], new_ops[name]
        old_params, new_params = _params(before), _params(after)
        for key, param in new_params.items():
            if param.get("required") and not old_params.get(key, {}).get("required"):
                found.append(f"{name}: parameter {key} is now required")
        for key in set(old_params) - set(new_params):
            found.append(f"{name}: parameter {key} removed")
        old_body, new_body = _body(old, before), _body(new, after)
        for field in sorted(set(new_body.get("required", [])) - set(old_body.get("required", []))):
            found.append(f"{name}: body field {field} is now required")
        for field in sorted(
            set(old_body.get("properties", {})) - set(new_body.get("properties", {}))
        ):
            found.append(f"{name}: body field {field} no longer accepted")
        old_answer, new_answer = _answer(old, before), _answer(new, after)
        for field in sorted(
            set(old_answer.get("required", [])) - set(new_answer.get("required", []))
        ):
            found.append(f"{name}: answer field {field} no longer guaranteed")
        for field, schema in old_body.get("properties", {}).items():
            new_enum = new_body.get("properties", {}).get(field, {}).get("enum")
            if "enum" in schema and new_enum is not None and set(schema["enum"]) - set(new_enum):
                found.append(f"{name}: body field {field} takes fewer values")
    return found


def _git_show(ref: str, path: str) -> str | None:
    proc = subprocess.run(
        ["git", "show", f"{ref}:{path}"], cwd=ROOT.parent, capture_output=True, text=True
    )
    return proc.stdout if proc.returncode == 0 else None


def latest_release_tag() -> str | None:
    proc = subprocess.run(
        ["git", "tag", "--list", "v*", "--sort=-v:refname"],
        cwd=ROOT.parent, capture_output=True, text=True,
    )  # fmt: skip
    tags = proc.stdout.split()
    return tags[0] if proc.returncode == 0 and tags else None


def changes_since(ref: str) -> list[str]:
    """Breaking changes from the contracts committed at `ref` to the files in the work tree."""
    found = []
    old_platform = _git_show(ref, PLATFORM)
    if old_platform is not None:
        new_platform = json.loads((OPENAPI_DIR / "platform.json").read_text(encoding="utf-8"))
        found += openapi_changes(json.loads(old_platform), new_platform)
    old_events: dict[str, Any] = {}
    listing = subprocess.run(
        ["git", "ls-tree", "--name-only", f"{ref}:contracts/events/schemas"],
        cwd=ROOT.parent, capture_output=True, text=True,
    )  # fmt: skip
    for name in listing.stdout.split() if listing.returncode == 0 else []:
        text = _git_show(ref, f"contracts/events/schemas/{name}")
        if name.endswith(".json") and text is not None:
            old_events[name.removesuffix(".json")] = json.loads(text)
    new_events = {
        p.stem: json.loads(p.read_text(encoding="utf-8")) for p in EVENT_SCHEMA_DIR.glob("*.json")
    }
    return found + event_changes(old_events, new_events)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    ref = args[0] if args else latest_release_tag()
    if ref is None:
        print("no release tag (v*) yet: nothing to compare with")
        return 0
    found = changes_since(ref)
    for line in found:
        print(line)
    print(f"{len(found)} breaking change(s) since {ref}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
