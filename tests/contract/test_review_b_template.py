"""Review B (issue 17): template.yaml findings that `sam validate --lint` does not catch."""

from __future__ import annotations

import inspect

from inventory.data import email_client
from tests.contract.test_delivery_resources import (
    DELIVERY_FUNCTION,
    _actions,
    _policies,
    _statements,
)


def test_the_delivery_function_may_send_what_it_sends_raw() -> None:
    """email_client.send_email calls SES v2 SendEmail with Content.Raw. IAM authorizes that
    call as the action ses:SendRawEmail ("User … is not authorized to perform
    'ses:SendRawEmail'" on a v2 SendEmail: django-anymail's docs and issue #384,
    aws-actionmailer-ses-ruby#10). The template grants ses:SendEmail alone, so in AWS every
    e-mail fails AccessDenied (retried for 24 h, then dead); moto does not check IAM, so no
    test here sees it."""
    assert '"Raw"' in inspect.getsource(email_client.send_email)
    actions = {a for s in _statements(_policies(DELIVERY_FUNCTION)) for a in _actions(s)}
    assert "ses:SendRawEmail" in actions
