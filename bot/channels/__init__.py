"""Facebook Messenger and Instagram Direct channels for Rasa (see docs/meta-setup.md).

- webhook_auth.py: the GET subscription handshake and the X-Hub-Signature-256 check
- events.py: webhook payload -> the user messages Rasa should see (everything else ignored)
- recent_ids.py: remembers recently seen message ids, so Meta's redeliveries are handled once
- formatting.py: Rasa responses -> Send API message objects within each platform's limits
- graph_client.py: async Send API client with retries and backoff
- settings.py: per-platform constants; secrets and options read from environment variables
- meta.py: the shared input/output channel; messenger.py and instagram.py: the two platforms
"""
