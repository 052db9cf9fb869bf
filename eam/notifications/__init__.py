"""Notifications: e-mails rendered in the recipient's language and written to the outbox."""
