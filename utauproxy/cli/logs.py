"""Logging is configured once, here: pretty on a terminal, JSON lines otherwise (structlog).

structlog (and the status line it must not draw over) are imported only when logging is
configured: the reading commands never log, and importing them costs `info` ~0.1 s.
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from structlog.typing import EventDict, WrappedLogger

LogFormat = Literal["auto", "console", "json"]


def _clear_status_line(logger: WrappedLogger, method: str, event: EventDict) -> EventDict:
    """A log line must not be drawn over the live status line; it is redrawn on its next tick."""
    from utauproxy.proxy.status import StatusLine

    if StatusLine.shown is not None:
        StatusLine.shown.clear()
    return event


def configure_logging(fmt: LogFormat, *, verbose: bool = False, quiet: bool = False) -> None:
    import structlog

    level = logging.WARNING if quiet else (logging.DEBUG if verbose else logging.INFO)
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer: structlog.typing.Processor
    if use_json:
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    structlog.configure(
        processors=[
            _clear_status_line,
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso" if use_json else "%H:%M:%S", utc=use_json),
            structlog.processors.dict_tracebacks if use_json else structlog.dev.set_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
