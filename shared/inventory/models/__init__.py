"""Pydantic models of what the HTTP API accepts and returns (the OpenAPI document's schemas)."""
