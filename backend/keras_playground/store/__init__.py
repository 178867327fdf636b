"""Run records: who may control a run, its spec, state, history and final figures.

Two stores share one interface (`RunStore`): `SqliteRunStore`, a file in the data
directory (the embedded default), and `RedisRunStore`, which every web replica and
worker of a lab server shares.
"""

from .record import RunRecord, RunStore, hash_token
from .redis import RedisRunStore
from .sqlite import SqliteRunStore

__all__ = ["RunRecord", "RunStore", "hash_token", "RedisRunStore", "SqliteRunStore"]
