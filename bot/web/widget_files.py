"""Routes of the chat widget's files: the short-cached loader (/widget.js) and the versioned bundle."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from bot.web.assets import Asset
from bot.web.dependencies import Bundle, Loader, Settings

IMMUTABLE = "public, max-age=31536000, immutable"
NOT_INSTALLED = "console.error('Acute Acupuncture chat widget: not installed on the server (npm ci in web_widget)');"

router = APIRouter(tags=["widget"])


def serve(request: Request, asset: Asset, cache_control: str) -> Response:
    """An in-memory asset with its ETag (304 when unchanged) and its gzipped copy when the browser accepts it."""
    headers = {"Cache-Control": cache_control, "ETag": asset.etag, "Vary": "Accept-Encoding"}
    if asset.etag in [tag.strip() for tag in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        return Response(asset.gzipped, media_type=asset.media_type, headers={**headers, "Content-Encoding": "gzip"})
    return Response(asset.body, media_type=asset.media_type, headers=headers)


@router.get("/widget.js")
def widget_loader(request: Request, loader: Loader, settings: Settings) -> Response:
    """The one <script> tag's target: short-cached, loads the current versioned bundle."""
    if loader is None:
        no_store = {"Cache-Control": "no-store"}
        return Response(NOT_INSTALLED, status_code=503, media_type="text/javascript", headers=no_store)
    return serve(request, loader, f"public, max-age={settings.loader_max_age}")


@router.get("/widget/{filename}")
def widget_bundle(filename: str, request: Request, bundle: Bundle) -> Response:
    """The bundle under its content-hashed name, cached for a year."""
    if bundle is None or filename != bundle.filename:
        return JSONResponse({"detail": "not found"}, status_code=404, headers={"Cache-Control": "no-store"})
    return serve(request, bundle.script, IMMUTABLE)
