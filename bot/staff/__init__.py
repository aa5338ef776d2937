"""The clinic's side of the assistant: staff accounts, sessions, audit, notifications, takeover, masking."""
