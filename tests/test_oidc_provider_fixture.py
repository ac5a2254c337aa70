"""The OIDC test fixture itself: the third-party provider answers discovery and issues RFC 9068
JWT access tokens with the claims a test asks for. Later auth tests rely on exactly this."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:  # imported by pytest via pytest_plugins, so that its asserts are rewritten
    from tests.oidc import OidcProvider


def _segment(token: str, index: int) -> dict[str, Any]:
    part = token.split(".")[index]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


def test_discovery_names_the_issuer(oidc_provider: OidcProvider) -> None:
    url = f"{oidc_provider.issuer}/.well-known/openid-configuration"
    response = httpx.get(url, timeout=10, trust_env=False)
    assert response.status_code == 200
    document = response.json()
    assert document["issuer"] == oidc_provider.issuer
    assert "client_credentials" in document["grant_types_supported"]
    jwks = httpx.get(document["jwks_uri"], timeout=10, trust_env=False).json()
    assert [key["alg"] for key in jwks["keys"]] == ["RS256"]


def test_token_is_a_jwt_access_token_with_the_requested_claims(oidc_provider: OidcProvider) -> None:
    token = oidc_provider.token("worker-1", {"registry_role": "worker", "bsn": "123456782"})
    assert token.count(".") == 2
    header = _segment(token, 0)
    assert header["alg"] == "RS256"
    assert header["typ"] == "at+jwt"
    payload = _segment(token, 1)
    assert payload["aud"] == oidc_provider.audience
    assert payload["iss"] == oidc_provider.issuer
    assert payload["sub"] == "worker-1"
    assert payload["registry_role"] == "worker"
    assert payload["bsn"] == "123456782"
    assert payload["scope"] == "registry"
    jwks = httpx.get(oidc_provider.discovery["jwks_uri"], timeout=10, trust_env=False).json()
    assert header["kid"] in {key["kid"] for key in jwks["keys"]}
