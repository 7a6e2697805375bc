"""Outbound notifications: who gets which mail for an event, templates (data, sandboxed),
per-user preferences, delivery records and the mail transports (SMTP or the database log)."""
