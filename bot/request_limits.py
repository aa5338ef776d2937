"""Request body limits of every server the project runs (bytes), checked before a body is read.

Sanic's default is 100 MB: a 90 MB POST took `rasa run` from 660 to 1137 MB before any check ran.
"""

from __future__ import annotations

# Meta webhooks are the largest bodies Rasa receives: Meta batches up to 1000 updates in one POST
# (bot/channels/meta.py gives the arithmetic); REST and socket.io messages are at most 1000 characters.
RASA_MAX_BYTES = 4 * 1024 * 1024
# Rasa posts the working tracker (last 5 turns, bot/tracker_window.py) and the domain to the action server:
# measured ~60 KB for this domain (tests/test_action_server.py checks the margin).
ACTION_SERVER_MAX_BYTES = 1024 * 1024
# The web service takes no request bodies (GET only); nginx in front of Rasa uses RASA_MAX_BYTES.
WEB_MAX_BYTES = 64 * 1024
