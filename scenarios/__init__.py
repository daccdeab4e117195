"""The simulator's targets (`*.yaml` beside this file) and the code that replays a year of a
province's activity through the gateway to reproduce them."""
