"""Prometheus metrics of the Rasa processes and of the web service (prometheus-client, its default registry).

- `bot/metrics/assistant.py`: what a Rasa process counts (messages, replies, fallbacks, technical problems, action
  server failures, time to answer, lock waits, Meta send failures), updated from bot/rasa_patches.py and
  bot/channels/graph_client.py; served by the `metrics` channel (bot/channels/metrics.py) on `GET /metrics`.
- `bot/metrics/web_service.py`: what the web service counts (requests by route template, latency, staff log-ins,
  e-mail notifications), served on its own `GET /metrics` (bot/web/metrics.py).
- `bot/metrics/access.py`: who may read them, the one rule both servers apply.

Label values always come from closed sets (channel names, route templates, reasons named in the code), never from a
request: no conversation id, path with ids or text can make a series. Meanings, scrape config and alerts:
docs/production.md ("Metrics").
"""
