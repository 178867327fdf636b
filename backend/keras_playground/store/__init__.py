"""Run records: who may control a run, its spec, state, history and final figures.

Two stores share one interface (`RunStore`): `SqliteRunStore`, a file in the data
directory (the embedded default), and `RedisRunStore`, which every web replica and
worker of a lab server shares. Rooms of the classroom are kept beside them
(`rooms.py`), in the same two places.
"""

from .rate import MemoryRateLimiter, RateLimiter, RedisRateLimiter, retry_after
from .record import RunRecord, RunStore, hash_token
from .redis import RedisRunStore
from .rooms import RedisRoomStore, RoomStore, SqliteRoomStore
from .sqlite import SqliteRunStore

__all__ = ["RunRecord", "RunStore", "hash_token", "RedisRunStore", "SqliteRunStore",
           "RoomStore", "SqliteRoomStore", "RedisRoomStore",
           "RateLimiter", "MemoryRateLimiter", "RedisRateLimiter", "retry_after"]
