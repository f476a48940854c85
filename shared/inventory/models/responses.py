"""The success envelope of every route, each under its own name.

`Envelope[X]` would be documented as `Envelope_X_` (and an annotated union as its whole Python
repr), so each route's envelope is a named subclass: that name is the OpenAPI document's schema
name and the class a generated client gets. Nothing else differs from `Envelope`.
"""

from __future__ import annotations

from inventory.models.availability import AvailabilityItem, PackageImpact
from inventory.models.cart import CartValidation
from inventory.models.checks import CheckData, CooldownsCleared, CooldownStats
from inventory.models.envelope import Envelope
from inventory.models.health import HealthReport
from inventory.models.monitor_result import MonitorResult


class PackageAvailabilityEnvelope(Envelope[AvailabilityItem]):
    """One package's availability."""


class PackageAvailabilityListEnvelope(Envelope[list[AvailabilityItem]]):
    """Active packages' availability, by (name, id): the whole list or one page."""


class PackageImpactEnvelope(Envelope[PackageImpact]):
    """A product and the packages that use it."""


class CartValidationEnvelope(Envelope[CartValidation]):
    """Whether a whole cart can be sold at once."""


class NotificationCheckEnvelope(Envelope[CheckData]):
    """What a manual check did: `data.type` says which check ran."""


class CooldownStatsEnvelope(Envelope[CooldownStats]):
    """Live notification cooldowns."""


class CooldownsClearedEnvelope(Envelope[CooldownsCleared]):
    """How many cooldown entries were cleared."""


class MonitorResultEnvelope(Envelope[MonitorResult]):
    """One monitor run's result."""


class HealthReportEnvelope(Envelope[HealthReport]):
    """Each dependency's state; served only when both answer (503 otherwise)."""
