"""Logger and Metrics shared by every function.

These are module-level on purpose: the handlers' decorators need them at import. Building
them reads only POWERTOOLS_* variables and opens nothing.
"""

from __future__ import annotations

import warnings

from aws_lambda_powertools import Logger, Metrics

SERVICE = "inventory-automation"
METRICS_NAMESPACE = "InventoryAutomation"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE)

# Read-only functions publish only the cold-start metric; Powertools warns on every such
# invocation, which is noise, not a fault.
warnings.filterwarnings("ignore", message="No application metrics to publish")
