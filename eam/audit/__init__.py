"""Audit trail: append-only events for every state change."""
