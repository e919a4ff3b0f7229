"""Python client of TradeStore.

>>> import tradestore                                   # doctest: +SKIP
>>> client = tradestore.Client("http://127.0.0.1:5080")  # doctest: +SKIP
>>> client.positions("ACC-1")                           # doctest: +SKIP
[Position(account='ACC-1', symbol='AAPL', net_quantity=Decimal('100'), ...)]
"""

from ._client import Client
from ._errors import Forbidden, InDoubt, NotFound, ProblemError, RequestTimeout, VersionConflict
from ._models import BatchItemResult, BatchResult, Position, Trade, TradeEvent
from ._query import Rows

__all__ = [
    "BatchItemResult",
    "BatchResult",
    "Client",
    "Forbidden",
    "InDoubt",
    "NotFound",
    "Position",
    "ProblemError",
    "RequestTimeout",
    "Rows",
    "Trade",
    "TradeEvent",
    "VersionConflict",
]
__version__ = "0.1.0"
