"""Bulk onboarding: CSV import of people and access (with a preview), and the organisation export."""
