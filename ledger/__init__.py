"""xinfang-ledger core: domain model, store, integrity, rules host, projections, CLI."""
