"""Domain errors; the API maps each to its HTTP status with {"error": message}."""


class HallError(Exception):
    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class Invalid(HallError):
    status = 400


class Unauthorized(HallError):
    status = 401


class Forbidden(HallError):
    status = 403


class NotFound(HallError):
    status = 404


class Conflict(HallError):
    """An illegal transition or a refusal (closed, quota used up): nothing changed."""

    status = 409


class TooMany(HallError):
    status = 429
