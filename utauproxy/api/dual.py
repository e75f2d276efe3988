"""Context managers that work with both `async with` and plain `with`.

`async with` runs in the caller's event loop. Plain `with` starts an anyio event loop in a
helper thread (a blocking portal) for the duration of the block, so synchronous code, such as
an ordinary pytest test, can keep a replay or a recording running while it drives the peer
under test.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, ExitStack
from types import TracebackType
from typing import Generic, TypeVar

from anyio.from_thread import start_blocking_portal

T = TypeVar("T")

ExcInfo = tuple[type[BaseException] | None, BaseException | None, TracebackType | None]


class DualContext(Generic[T]):
    """Wraps a factory of async context managers; enter it either way, once."""

    def __init__(self, opener: Callable[[], AbstractAsyncContextManager[T]], *,
                 backend: str = "asyncio") -> None:
        self._opener = opener
        self._backend = backend
        self._async_cm: AbstractAsyncContextManager[T] | None = None
        self._sync_stack: ExitStack | None = None
        self._entered = False

    def _claim(self) -> None:
        # The wrapped managers hold a task group: entering one twice would share it.
        if self._entered:
            raise RuntimeError("this context manager has already been entered; make a new one")
        self._entered = True

    async def __aenter__(self) -> T:
        self._claim()
        self._async_cm = self._opener()
        return await self._async_cm.__aenter__()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> bool | None:
        cm, self._async_cm = self._async_cm, None
        if cm is None:
            raise RuntimeError("__aexit__ without __aenter__")
        return await cm.__aexit__(exc_type, exc, tb)

    def __enter__(self) -> T:
        self._claim()
        with ExitStack() as stack:
            portal = stack.enter_context(start_blocking_portal(self._backend))
            value = stack.enter_context(portal.wrap_async_context_manager(self._opener()))
            self._sync_stack = stack.pop_all()
        return value

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> bool | None:
        stack, self._sync_stack = self._sync_stack, None
        if stack is None:
            raise RuntimeError("__exit__ without __enter__")
        return stack.__exit__(exc_type, exc, tb)
