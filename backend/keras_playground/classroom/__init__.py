"""The classroom: rooms (rooms.py), their typed models (models.py) and public events
(events.py), challenges (challenges.py) and their scoring (scoring.py), the class wall
(wall.py), and the course's lessons (lessons.py, lessons/*.json).

Imports go down only: the classroom uses jobs, store, data and specs, never the engine
at import time (the web path stays free of TensorFlow), and is used by the api.
"""

from .challenges import Scored, Submitted
from .errors import Forbidden, Refused, RoomClosed, RoomLocked, RoomNotFound
from .events import RoomEvent, RoomView, WallTile, leaderboard, public_view
from .models import Challenge, Follow, Participant, Room, Submission
from .rooms import Classroom, Joined, Opened, clean_name, needs_password, room_log
from .scoring import LocalScorer, RedisScorer, Scorer, ScoringUnavailable
from .wall import WALL_INTERVAL, WallRun

__all__ = ["Challenge", "Classroom", "Follow", "Forbidden", "Joined", "LocalScorer", "Opened", "Participant",
           "RedisScorer", "Refused", "Room", "RoomClosed", "RoomEvent", "RoomLocked", "RoomNotFound", "RoomView",
           "Scored", "Scorer", "ScoringUnavailable", "Submission", "Submitted", "WALL_INTERVAL", "WallRun",
           "WallTile", "clean_name", "leaderboard", "needs_password", "public_view", "room_log"]
