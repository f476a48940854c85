"""Domain errors. The HTTP layer maps each class to one status code, in one place."""


class InventoryError(Exception):
    """Base class of every expected failure the service reports to a caller."""

    code = "internal_error"


class ConfigurationError(InventoryError):
    """An environment variable holds a value the service cannot work with."""

    code = "configuration_error"


class NotFoundError(InventoryError):
    """The id in the request names no row."""

    code = "not_found"


class UnauthorizedError(InventoryError):
    """Missing or wrong credentials (HTTP 401)."""

    code = "unauthorized"


class InvalidRequestError(InventoryError):
    """A well-formed request that the rules reject (HTTP 422)."""

    code = "invalid_request"


class MalformedRequestError(InventoryError):
    """A request that cannot be parsed (HTTP 400)."""

    code = "bad_request"


class DependencyUnavailableError(InventoryError):
    """PostgreSQL or DynamoDB did not answer (HTTP 503)."""

    code = "dependency_unavailable"
