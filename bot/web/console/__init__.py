"""The staff console: pages a receptionist uses in a browser (log-in, inbox, live chats, audit, review).

docs/staff-console.md describes it.
"""

from fastapi import APIRouter

from bot.web.console import pages, review_conversation

router = APIRouter()
router.include_router(pages.router)
router.include_router(review_conversation.router)

__all__ = ["router"]
