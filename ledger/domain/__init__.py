"""The domain: aggregates as immutable states folded from events, and the rules that decide commands."""
