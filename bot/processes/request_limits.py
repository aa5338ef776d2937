"""Request body limits of every server the project runs (bytes), checked before a body is read: one place.

Sanic's default is 100 MB: a 90 MB POST took `rasa run` from 660 to 1137 MB before any check ran.
"""

from __future__ import annotations

# Meta webhooks are the largest bodies Rasa receives. Meta sends at most 1000 updates in one webhook POST
# (Graph API webhooks: "aggregated and sent in a batch with a maximum of 1000 updates"). A messaging update is
# about 300 bytes of JSON (entry id and time, sender, recipient, timestamp, a ~100-character mid) plus its
# text: at most 2000 characters on Messenger, 1000 on Instagram. 1 MiB holds a full batch of 1000 updates with
# ~750 characters of text each on average, or ~450 updates all with Messenger's longest text: far more than a
# clinic's page ever gets at once (patients' messages are short; over 1000 characters they are not read,
# bot/channels/message_limits.py). bot/channels/meta.py applies it to the webhooks.
META_WEBHOOK_MAX_BYTES = 1024 * 1024
# The whole Rasa server (Sanic's REQUEST_MAX_SIZE, set by bot/processes/launcher.py) and nginx in front of it: REST and
# socket.io messages are much smaller still.
RASA_MAX_BYTES = META_WEBHOOK_MAX_BYTES
# Rasa posts the working tracker (last 5 turns, bot/storage/tracker_window.py) and the domain to the action server:
# 67 KB measured for a tracker of 40 turns with this domain, so 1 MiB leaves a wide margin.
ACTION_SERVER_MAX_BYTES = 1024 * 1024
# The web service takes small bodies only: the staff console's forms (a message to a patient: 1000 characters).
WEB_MAX_BYTES = 64 * 1024
# The staff routes of `rasa run` (bot/channels/staff.py): a sender id, a first name and at most 1000 characters of
# text, which JSON escapes to at most 6 bytes each (\uXXXX): 16 KiB is ample.
STAFF_MAX_BYTES = 16 * 1024
