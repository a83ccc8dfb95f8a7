"""A lender quotes its book at once: 2,500 loans in batches of 1,000, a few of them bad.

``client.quotes.create_batch`` sends up to 1,000 quotes in one call, which the insurer prices in one
transaction; each item comes back in order as a quote or as the error ``quotes.create`` would have
raised for it. An item the SDK can tell is wrong (here a principal of zero) is not sent at all: its
result is an error made by the SDK, the rest of its batch is quoted. The batches go out together
through one ``AsyncClient``, which keeps at most ``max_concurrency`` requests in flight.

Run it with ``python examples/portfolio_requote.py``. Nothing leaves the process.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter

from yangguang_sdk.sandbox import Sandbox
from yangguang_sdk.testing import quote_requests
from yangguang_sdk.types import Quote

START = dt.datetime(2027, 3, 1, 2, 0, tzinfo=dt.timezone.utc)
BATCH = 1000


async def main() -> None:
    book = list(quote_requests(2500, seed=17, today=START.date()))
    for n in (7, 1500):  # two rows with a principal of zero: the SDK refuses them before sending
        book[n] = {**book[n], "loan": {**book[n]["loan"], "principal": {"amount": 0, "currency": "CNY"}}}
    with Sandbox(now=START) as sb:
        async with sb.async_client(max_concurrency=4) as client:
            batches = [book[i : i + BATCH] for i in range(0, len(book), BATCH)]
            answers = await asyncio.gather(
                *(
                    client.quotes.create_batch(items, idempotency_key=f"book-2027-03-{i}")
                    for i, items in enumerate(batches)
                )
            )
    results = [result for answer in answers for result in answer.data]
    decisions = Counter(r.decision if isinstance(r, Quote) else "error" for r in results)
    print(f"{len(results)} results for {len(book)} loans in {len(batches)} calls, in order.")
    print(", ".join(f"{decisions[d]} {d}" for d in ("approved", "declined", "referred")), end="")
    print(f"; {decisions['error']} refused.")
    for answer, start in zip(answers, range(0, len(book), BATCH), strict=True):
        for error in answer.errors:
            order = book[start + error.index]["merchant_order_id"]
            print(f"row {start + error.index} ({order}): {error.code} at {error.param}: {error.message}")


if __name__ == "__main__":
    asyncio.run(main())
