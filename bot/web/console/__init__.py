"""The staff console: pages a receptionist uses in a browser (log-in, inbox, live chats, audit).

docs/staff-console.md describes it.
"""

from bot.web.console.pages import router

__all__ = ["router"]
