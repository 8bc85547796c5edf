"""Domain errors carry a stable machine-readable code and a human message."""


class DomainError(Exception):
    """A refused request. ``code`` is part of the protocol; keep it stable."""

    status = 400

    def __init__(self, code: str, message: str, status: int | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        if status is not None:
            self.status = status


class Forbidden(DomainError):
    status = 403

    def __init__(self, message: str = "your role does not allow this", code: str = "forbidden"):
        super().__init__(code, message)


class NotFound(DomainError):
    status = 404

    def __init__(self, what: str, code: str = "not_found"):
        super().__init__(code, f"{what} not found")


class InvalidInput(DomainError):
    status = 400

    def __init__(self, message: str, code: str = "invalid_payload"):
        super().__init__(code, message)


class RateLimited(DomainError):
    status = 429

    def __init__(self, message: str = "too many requests, slow down", code: str = "rate_limited"):
        super().__init__(code, message)
