"""HTTP API (Litestar): JSON under /api, OpenAPI at /schema/openapi.json. See :mod:`api.app`."""
