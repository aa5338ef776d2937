"""The clinic staff's side of the assistant: what the staff console needs outside the web service."""
