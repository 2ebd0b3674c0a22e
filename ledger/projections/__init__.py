"""Projections: deterministic folds over the log, persisted beside it, and the reports read from them.

- :mod:`ledger.projections.state` — the fold (cases, records, 补录) shared by every report;
- :mod:`ledger.projections.tables` — the projection tables and positions, per engine;
- :mod:`ledger.projections.runner` — catch up, rebuild, follow, replay a prefix (as of);
- :mod:`ledger.projections.reports` — case board, accountability and indicators for a period.
- :mod:`ledger.projections.export` — a report's sections as tables, CSV and XLSX (CLI and HTTP API alike).
"""
