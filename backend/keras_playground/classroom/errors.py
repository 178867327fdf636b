"""What the classroom refuses, each a `specs.Refusal` with its HTTP status (api/errors.py)."""

from __future__ import annotations

from ..specs import Problem, Refusal, SpecError


class RoomNotFound(Refusal, LookupError):
    status = 404

    @property
    def detail(self) -> str:
        return f"No room or participant {self.args[0]!r}."


class RoomClosed(Refusal):
    status = 410

    @property
    def detail(self) -> str:
        return "The instructor has closed this room."


class Forbidden(Refusal, PermissionError):
    """Refused for who is asking (403). `token`: what is missing is a bearer token, so a
    request that sent none hears 401 instead (`needs_token`)."""

    status = 403

    def __init__(self, message: str, *, token: bool = True):
        super().__init__(message)
        self.needs_token = token


class RoomLocked(Forbidden):
    """The instructor has locked the room to new participants (423)."""

    status = 423

    def __init__(self) -> None:
        super().__init__("The instructor has locked this room: it takes no new participants. "
                         "Ask the instructor to unlock it.", token=False)


class Refused(SpecError):
    """A request the room cannot take: a 422 that names the field and the reason."""

    def __init__(self, field: str, message: str):
        super().__init__([Problem(field=field, message=message)])
