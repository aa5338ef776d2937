"""The staff console: pages a receptionist uses in a browser (log-in, inbox, live chats, review, analytics, audit).

docs/staff-console.md describes it.
"""

from bot.web.console import analytics_page, review_list
from bot.web.console.pages import router

router.include_router(review_list.router)  # /staff/review
router.include_router(analytics_page.router)  # /staff/analytics

__all__ = ["router"]
