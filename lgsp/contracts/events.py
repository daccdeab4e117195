"""JSON Schema of every event type and the AsyncAPI 3.0 document of the NATS channels, both
generated from the event models in `contracts.events`."""

from __future__ import annotations

import inspect
from typing import Any

from contracts.events import EVENT_TYPES, Envelope

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID_BASE = "https://lgsp.example/schemas/events/"
STREAM = "LGSP"
COMPONENT_REF = "#/components/schemas/{model}"


def _doc(cls: type) -> str:
    return inspect.cleandoc(cls.__doc__ or "").strip()


def _data_model(model: type[Envelope]) -> type:
    data: type = model.model_fields["data"].annotation  # type: ignore[assignment]
    return data


def event_schema(event_type: str) -> dict[str, Any]:
    """A standalone JSON Schema (2020-12) of one event: the CloudEvents envelope with its data."""
    model = EVENT_TYPES[event_type]
    schema = model.model_json_schema(mode="validation")
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": f"{SCHEMA_ID_BASE}{event_type}.json",
        **schema,
        "description": _doc(_data_model(model)),
        "x-nats-subject": event_type,
        "x-jetstream-stream": STREAM,
    }


def event_schemas() -> dict[str, dict[str, Any]]:
    return {event_type: event_schema(event_type) for event_type in sorted(EVENT_TYPES)}


def _channel_id(event_type: str) -> str:
    return event_type.removeprefix("lgsp.").replace(".", "_")


def asyncapi_document() -> dict[str, Any]:
    """AsyncAPI 3.0: one channel per event type (its NATS subject), the platform sends them all."""
    schemas: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for event_type in sorted(EVENT_TYPES):
        model = EVENT_TYPES[event_type]
        name = model.__name__
        schema = model.model_json_schema(mode="validation", ref_template=COMPONENT_REF)
        for def_name, definition in schema.pop("$defs", {}).items():
            if schemas.setdefault(def_name, definition) != definition:
                raise ValueError(f"two different event schemas are named {def_name}")
        schemas[name] = schema
        service = event_type.split(".")[1]
        messages[name] = {
            "name": name,
            "title": event_type,
            "summary": _doc(_data_model(model)).splitlines()[0],
            "contentType": "application/json",
            "payload": {"$ref": f"#/components/schemas/{name}"},
            "headers": {
                "type": "object",
                "properties": {
                    "Nats-Msg-Id": {
                        "type": "string",
                        "description": "the event id (JetStream de-duplication)",
                    }
                },
            },
        }
        channel = _channel_id(event_type)
        channels[channel] = {
            "address": event_type,
            "title": event_type,
            "description": f"Subject of the {service} service's `{event_type}` events "
            f"(stream `{STREAM}`).",
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
        }
        operations[f"send_{channel}"] = {
            "action": "send",
            "title": f"{service} publishes {event_type}",
            "channel": {"$ref": f"#/channels/{channel}"},
            "messages": [{"$ref": f"#/channels/{channel}/messages/{name}"}],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "LGSP platform events",
            "version": "1.0.0",
            "description": (
                "CloudEvents 1.0 (structured JSON) that the dossier and documents services "
                "publish to NATS JetStream, stream `LGSP`, subjects `lgsp.dossier.*` and "
                "`lgsp.documents.*`. The subject is the event `type`; `time` is the business "
                "time of the fact (thời điểm nghiệp vụ), not the publish time; `Nats-Msg-Id` "
                "is the event id. A breaking change needs a new event type (see CHANGELOG.md)."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "embedded": {
                "host": "127.0.0.1:14222",
                "protocol": "nats",
                "description": "the embedded NATS server of `lgsp run` (port configurable)",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    }
