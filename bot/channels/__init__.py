"""How patients and staff reach `rasa run`: every channel named in credentials.yml.

- rest.py: Rasa's REST channel, strict (staff, tests, `rasa shell`)
- socketio.py: the website widget's socket.io channel, one `web:` conversation per socket
- meta.py: the input/output channel shared by messenger.py and instagram.py (see docs/meta-setup.md), with
  webhook_auth.py (handshake, signature), events.py (webhook payload -> user messages), recent_ids.py (Meta's
  redeliveries handled once), formatting.py (replies within each platform's limits), graph_client.py (Send API)
- readiness.py: the readiness route of `rasa run` (a channel only because channels add routes)
- metrics.py: `GET /metrics` of `rasa run`, Prometheus (a channel for the same reason; bot/metrics/)
- sender_ids.py: conversation ids namespaced by channel; message_limits.py: length limit and clean-up of a message
- settings.py: per-platform constants; secrets and options read from environment variables
"""
