"""Auto-paging lists: ``for x in client.policies.list()`` / ``async for x in ...`` walk every page."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from .types import ResponseInfo

__all__ = ["SyncPage", "AsyncPage", "AsyncPaginator"]

T = TypeVar("T")


class _PageBase(Generic[T]):
    data: list[T]
    has_more: bool
    next_cursor: str | None
    last_response: ResponseInfo | None

    def __init__(
        self, data: list[T], has_more: bool, next_cursor: str | None, info: ResponseInfo | None
    ) -> None:
        self.data = data
        self.has_more = has_more
        self.next_cursor = next_cursor
        self.last_response = info

    def __repr__(self) -> str:
        return f"{type(self).__name__}(items={len(self.data)}, has_more={self.has_more})"

    def __len__(self) -> int:
        return len(self.data)


class SyncPage(_PageBase[T]):
    """One page of a list; iterating it walks this page and every following one."""

    def __init__(self, fetch: Callable[[str | None], SyncPage[T]], **fields: Any) -> None:
        super().__init__(**fields)
        self._fetch = fetch

    def next_page(self) -> SyncPage[T] | None:
        if not self.has_more or not self.next_cursor:
            return None
        return self._fetch(self.next_cursor)

    def iter_pages(self) -> Iterator[SyncPage[T]]:
        page: SyncPage[T] | None = self
        while page is not None:
            yield page
            page = page.next_page()

    def __iter__(self) -> Iterator[T]:
        for page in self.iter_pages():
            yield from page.data


class AsyncPage(_PageBase[T]):
    """One page of a list from the async client; ``async for`` walks every following page."""

    def __init__(self, fetch: Callable[[str | None], Awaitable[AsyncPage[T]]], **fields: Any) -> None:
        super().__init__(**fields)
        self._fetch = fetch

    async def next_page(self) -> AsyncPage[T] | None:
        if not self.has_more or not self.next_cursor:
            return None
        return await self._fetch(self.next_cursor)

    async def iter_pages(self) -> AsyncIterator[AsyncPage[T]]:
        page: AsyncPage[T] | None = self
        while page is not None:
            yield page
            page = await page.next_page()

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.iter_pages():
            for item in page.data:
                yield item


class AsyncPaginator(Generic[T]):
    """What an async ``list()`` returns: ``await`` it for the first page, or ``async for`` over all items."""

    def __init__(self, fetch: Callable[[str | None], Awaitable[AsyncPage[T]]]) -> None:
        self._fetch = fetch

    def __await__(self) -> Generator[Any, None, AsyncPage[T]]:
        return self._fetch(None).__await__()

    async def __aiter__(self) -> AsyncIterator[T]:
        page = await self._fetch(None)
        async for item in page:
            yield item
