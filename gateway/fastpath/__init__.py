"""The gateway's hot path: the code every proxied call runs through, written for speed.

Everyday code in this repository is plain FastAPI; this package is not, because each of its lines
runs once per published-API call and the gateway's throughput is the sum of their costs:

- `proxy`: the raw ASGI handler of `/{context}/v1/...` (no routing, the upstream request head
  built as bytes from the caller's, metric children kept);
- `upstream`: the HTTP/1.1 client to the backends (an asyncio Protocol and `httptools`, one
  keep-alive pool per backend) that replaces aiohttp on this path;
- `throttle`: the per-consumer fixed-window counters;
- `audit`: the audit writer (a call is recorded by appending to a list; batches are hashed onto
  the chain and written off the event loop).

The HTTP protocol every app is served with, `lgsp_kit.server` (uvicorn's with slow-client
limits), is the other piece of the per-request path; it stays in the kit because the services
are served with it too, and the kit imports no app.

A change here is measured before and after with `python -m bench.gateway` (docs/gateway.md,
"Benchmarks"): req/s and CPU µs per call against nginx in front of the same backends.
"""
