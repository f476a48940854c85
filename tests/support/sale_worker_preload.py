"""Imported once by the sale workers' forkserver (tests/support/sale_workers.py), before it
forks any worker: what every worker would otherwise spend its first second on.

The handler and Powertools' idempotency utility are imported, and boto3's default session
loads DynamoDB's service model (a client made and dropped, nothing sent), so each worker's
own client (`data/idempotency_records.persistence_layer`, made after it has taken the test's
environment) comes from the cached model. Nothing connects, and no setting is read.
"""

from __future__ import annotations

import boto3
from aws_lambda_powertools.utilities import idempotency  # noqa: F401

from functions.pos_sale import app  # noqa: F401

boto3.client("dynamodb", region_name="us-east-1")
