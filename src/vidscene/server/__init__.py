"""``vidscene serve``: the HTTP job API and the web UI (extra ``server``: FastAPI, uvicorn).

>>> from vidscene.server import ServerSettings, create_app
>>> app = create_app(ServerSettings(db="vs.db", media_roots=[Path("media")]))  # doctest: +SKIP

Modules, one concern each: ``_app`` (the application), ``_api_jobs`` and ``_api_library``
(the ``/v1`` routes), ``_ui`` (pages), ``_auth`` (tokens and sessions on every route),
``_errors`` (the JSON error shape), ``_media`` (media roots and uploads), ``_dispatch`` (the
worker that runs accepted jobs with the pipeline's job runner), ``_webhooks``, ``_metrics``,
``_stats``, ``_schemas`` (typed bodies), ``_settings``.
"""

from vidscene.server._settings import ServerSettings, is_loopback

__all__ = ["ServerSettings", "create_app", "is_loopback"]


def __getattr__(name: str) -> object:
    # FastAPI is imported only when an app is made, so `vidscene tokens` and the settings
    # work without the [server] extra.
    if name == "create_app":
        from vidscene.server._app import create_app

        return create_app
    raise AttributeError(name)
