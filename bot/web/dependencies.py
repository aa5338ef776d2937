"""What the routes of the web service depend on, provided with FastAPI's `Depends`.

`create_app` (bot/web/app.py) puts one `WebState` on `app.state.web`; the functions here hand its parts to the
routes, so a test gives its own settings, widget files or request store to `create_app` and nothing else.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Callable, Optional

from fastapi import Depends, Request

from bot.staff.mail_settings import MailSettings
from bot.storage.booking_requests import BookingRequestStore
from bot.web.assets import Asset, WidgetBundle
from bot.web.settings import WebSettings

if TYPE_CHECKING:
    from bot.web.console.services import StaffServices


@dataclass
class WebState:
    """The settings, the widget's files (None when not installed), the request store and the console's services."""

    settings: WebSettings
    bundle: Optional[WidgetBundle]
    loader: Optional[Asset]
    store_factory: Callable[[], BookingRequestStore]
    mail: MailSettings = field(default_factory=MailSettings.from_env)
    _store: Optional[BookingRequestStore] = None
    _staff: Optional[StaffServices] = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def store(self) -> BookingRequestStore:
        """The request store, created on first use (the first authorised staff request)."""
        with self._lock:
            if self._store is None:
                self._store = self.store_factory()
            return self._store

    def staff(self) -> StaffServices:
        """The staff console's accounts, sessions, audit log, transcripts and takeover client, made on first use."""
        from bot.web.console.services import StaffServices

        store = self.store()
        with self._lock:
            if self._staff is None:
                self._staff = StaffServices.create(self.settings, store, self.mail)
            return self._staff


def web_state(request: Request) -> WebState:
    return request.app.state.web


def get_settings(request: Request) -> WebSettings:
    """The web service's settings (bot/web/settings.py)."""
    return web_state(request).settings


def get_bundle(request: Request) -> Optional[WidgetBundle]:
    """The widget's versioned bundle; None when web_widget's dependencies are not installed."""
    return web_state(request).bundle


def get_loader(request: Request) -> Optional[Asset]:
    """/widget.js, pointing at the current bundle; None without a bundle."""
    return web_state(request).loader


def get_request_store(request: Request) -> BookingRequestStore:
    """The booking and hand-off requests store."""
    return web_state(request).store()


# What a route declares as a parameter (FastAPI's Annotated style): `settings: Settings`.
Settings = Annotated[WebSettings, Depends(get_settings)]
Bundle = Annotated[Optional[WidgetBundle], Depends(get_bundle)]
Loader = Annotated[Optional[Asset], Depends(get_loader)]
RequestStore = Annotated[BookingRequestStore, Depends(get_request_store)]
