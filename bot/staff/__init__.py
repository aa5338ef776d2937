"""The clinic staff's side: e-mail notifications of new requests (bot/staff/notifications.py)."""
