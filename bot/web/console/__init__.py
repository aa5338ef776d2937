"""The staff console: pages a receptionist uses in a browser (log-in, inbox, live chats, review, annotations,
analytics, audit). One router per group of pages, all under /staff.

docs/staff-console.md describes it.
"""

from fastapi import APIRouter

from bot.web.console import analytics_page, annotations_page, pages, review_conversation, review_list

router = APIRouter()
router.include_router(pages.router)  # log-in, inbox, requests, live chats and takeover, audit
router.include_router(review_list.router)  # /staff/review: conversations with their flags
router.include_router(review_conversation.router)  # /staff/review/{ref}: one conversation, annotating its messages
router.include_router(annotations_page.router)  # /staff/annotations: every annotation, corrections, the training file
router.include_router(analytics_page.router)  # /staff/analytics

__all__ = ["router"]
