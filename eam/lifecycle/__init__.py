"""Lifecycle triggers: a person leaving an organisation, an organisation disabled."""
