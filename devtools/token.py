"""`make token SCOPES="inventory/availability.read ..."`: a bearer token `make run`'s API accepts.

Signed with the local issuer's key (`.local/jwt_signing_key.json`, created on first use) for
the issuer `http://127.0.0.1:$PORT` (3000), the URL `make run` serves; the token carries
`client_id` of the local client (`--client`, default the POS terminal) as Cognito's do.
"""

from __future__ import annotations

import argparse
import os
import sys

from devtools.local_issuer import LOCAL_CLIENTS, LocalIssuer, load_or_create_key


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make token", description=__doc__)
    parser.add_argument("--scopes", default="", help="space-separated scopes")
    parser.add_argument("--client", default="local-pos-terminal", choices=sorted(LOCAL_CLIENTS))
    parser.add_argument("--lifetime", type=int, default=3600, help="seconds")
    arguments = parser.parse_args(argv)
    scopes = arguments.scopes.split() or list(LOCAL_CLIENTS[arguments.client].scopes)
    issuer = LocalIssuer(f"http://127.0.0.1:{os.environ.get('PORT', '3000')}", load_or_create_key())
    token = issuer.mint(scopes, client_id=arguments.client, lifetime=arguments.lifetime)
    sys.stdout.write(token + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
