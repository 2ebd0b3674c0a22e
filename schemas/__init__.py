"""msgspec Structs only: the wire and storage contract (events, commands, views, reports)."""
