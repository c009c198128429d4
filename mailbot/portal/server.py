"""Serve the portal with uvicorn: `mailbot portal`, a process of its own beside the daemon, on the same database."""

from __future__ import annotations

import logging

import uvicorn

from ..config import Config
from .app import create_app

log = logging.getLogger(__name__)


def serve(config: Config) -> None:
    """Until SIGINT or SIGTERM, which uvicorn handles: requests in hand finish, then the database is closed."""
    portal = config.portal
    app = create_app(config)
    log.info("portal for %s listening on %s:%d", portal.base_url, portal.listen_host, portal.listen_port)
    uvicorn.run(
        app,
        host=portal.listen_host,
        port=portal.listen_port,
        # X-Forwarded-For/-Proto are believed from these proxies only: the client address the login limits count.
        proxy_headers=True,
        forwarded_allow_ips=list(portal.trusted_proxies),
        server_header=False,
        log_config=None,  # mailbot's logging, set up by the CLI
    )
