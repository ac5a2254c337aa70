"""HTTP API: app, request context, problem responses, idempotency, routes."""
