"""Auditors: people who read an organisation's (or every organisation's) access and trail, and change nothing."""
