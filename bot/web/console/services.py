"""What the console's pages work with, made once per web service from its settings (`StaffServices.create`).

Every table lives in the booking requests' database (bot/storage/booking_requests.py); conversations are read
from the tracker store's database (bot/storage/transcripts.py); takeover goes through the Rasa process
(bot/staff/takeover.py); new requests are e-mailed by the outbox (bot/staff/notifications.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Optional

from bot.staff.accounts import StaffAccounts
from bot.staff.audit import AuditLog
from bot.staff.conversation_refs import ConversationRefs
from bot.staff.mail_settings import MailSettings
from bot.staff.notifications import NotificationOutbox
from bot.staff.sessions import SessionStore
from bot.staff.takeover import TakeoverClient
from bot.storage.booking_requests import BookingRequestStore
from bot.storage.database_urls import tracker_db_url
from bot.storage.transcripts import TranscriptReader
from bot.web.settings import WebSettings

# Rasa may retry a Messenger/Instagram send for ~40 s (bot/channels/graph_client.py): wait for its answer rather
# than tell staff "not sent" while it goes through (and have them send it twice)
TAKEOVER_TIMEOUT = 45.0


@dataclass
class StaffServices:
    requests: BookingRequestStore
    accounts: StaffAccounts
    sessions: SessionStore
    audit: AuditLog
    refs: ConversationRefs
    transcripts: TranscriptReader
    takeover: TakeoverClient
    outbox: NotificationOutbox

    @classmethod
    def create(
        cls,
        settings: WebSettings,
        requests: BookingRequestStore,
        mail: MailSettings,
        tracker_url: Optional[str] = None,
    ) -> StaffServices:
        engine = requests.engine
        return cls(
            requests=requests,
            accounts=StaffAccounts(engine),
            sessions=SessionStore(
                engine,
                idle=timedelta(minutes=settings.staff_session_idle_minutes),
                lifetime=timedelta(hours=settings.staff_session_hours),
            ),
            audit=AuditLog(engine),
            refs=ConversationRefs(engine),
            transcripts=TranscriptReader(tracker_url or tracker_db_url()),
            takeover=TakeoverClient(settings.rasa_url, settings.staff_channel_token, timeout=TAKEOVER_TIMEOUT),
            outbox=NotificationOutbox(engine, mail),
        )
