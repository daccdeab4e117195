"""The composition root: the `lgsp` command line, the launcher and the registry of the apps, and
the generator of the published contracts, which builds every app to read its OpenAPI.

Nothing imports this package but the entry point: it sits above the apps (gateway, services,
the simulator), which sit above the runtime kit `lgsp_kit` and the shared `contracts`.
"""
