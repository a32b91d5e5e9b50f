#!/usr/bin/env python3
"""An independent OpenID Connect relying party for Sigil, built on Authlib.

Sigil's own end-to-end tests drive it with Rust client crates chosen by the
project. This script is a second, unrelated client: Authlib's OAuth 2.0
client (``authlib.integrations.requests_client.OAuth2Session``) and its
OpenID Connect ID token claims (``authlib.oidc.core.CodeIDToken``, on top of
``joserfc``, which Authlib recommends for JOSE). Against a running Sigil it
checks, in order:

1. discovery: the provider metadata and its JWKS;
2. an authorization code login with PKCE (S256), ``state`` and ``nonce``,
   filling in Sigil's sign-in form (and its consent form, when shown) the way
   a browser without JavaScript would, up to the redirect to the client,
   whose ``state`` and ``iss`` (RFC 9207) are checked;
3. the code exchange with ``client_secret_basic``, and the ID token:
   signature against the JWKS, ``iss``, ``aud``, ``exp``, ``nonce`` and
   ``at_hash``;
4. the UserInfo endpoint: the same ``sub``, and the claims of the granted
   scopes;
5. a refresh: a new access token and a rotated refresh token, after which
   presenting the old refresh token again is refused with ``invalid_grant``
   and revokes its family, so the rotated one is refused too.

It prints one ``ok ...`` line per step and exits 0 when every check passed;
otherwise it prints one line saying why to standard error and exits 1.
Tokens, the client secret and the password are never printed.

Run it with the packages of ``requirements.txt`` installed::

    python3 rp.py --issuer=https://id.example.com --client-id=app \\
        --client-secret="$SECRET" --redirect-uri=https://app.example.com/cb \\
        --username=alice --password="$PASSWORD"

Write each option as ``--name=value``: a generated client secret may begin
with ``-``, which would otherwise be read as an option.

The redirect URI must be registered for the client, but it is never
contacted: the code is read from the ``Location`` header of Sigil's redirect.
"""

from __future__ import annotations

import argparse
import secrets
import sys
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import requests
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

SCOPE = "openid profile email offline_access"
TIMEOUT = 15
# Redirects the browser follows between pages before giving up.
MAX_HOPS = 10


class Failure(Exception):
    """A check that did not pass; the message is the one line reported."""


class _Forms(HTMLParser):
    """Collects the forms of a page (action and named inputs/buttons) and the
    text of elements with class ``error``. Attribute values arrive here with
    their character references already unescaped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self.errors: list[str] = []
        self._error_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "fields": {}, "buttons": {}})
        elif tag in ("input", "button") and self.forms and a.get("name"):
            form = self.forms[-1]
            if tag == "button" or a.get("type") == "submit":
                form["buttons"].setdefault(a["name"], []).append(a.get("value", ""))
            elif a.get("type") == "hidden":
                form["fields"][a["name"]] = a.get("value", "")
        if "error" in a.get("class", "").split():
            self._error_depth = 1
            self.errors.append("")
        elif self._error_depth:
            self._error_depth += 1

    def handle_endtag(self, tag: str) -> None:
        if self._error_depth:
            self._error_depth -= 1

    def handle_data(self, data: str) -> None:
        if self._error_depth:
            self.errors[-1] += data


def parse_page(html: str) -> _Forms:
    parser = _Forms()
    parser.feed(html)
    parser.close()
    return parser


def form_with_action(page: _Forms, url: str, name: str) -> dict | None:
    """The form on the page at `url` that posts to the endpoint `name`."""
    for form in page.forms:
        if urlsplit(urljoin(url, form["action"])).path.rsplit("/", 1)[-1] == name:
            return form
    return None


def hidden(form: dict, name: str) -> str:
    value = form["fields"].get(name)
    if not value:
        raise Failure(f"the form posting to {form['action']} has no hidden `{name}` field")
    return value


def same_endpoint(url: str, registered: str) -> bool:
    """Whether `url` points at the registered redirect URI (its query aside)."""
    a, b = urlsplit(url), urlsplit(registered)
    return (a.scheme, a.netloc, a.path) == (b.scheme, b.netloc, b.path)


def describe(response: requests.Response) -> str:
    page = parse_page(response.text) if "html" in response.headers.get("Content-Type", "") else None
    detail = " ".join(e.strip() for e in page.errors if e.strip()) if page else ""
    return f"HTTP {response.status_code}" + (f": {detail}" if detail else "")


# Step 1 ---------------------------------------------------------------------


def discover(issuer: str) -> tuple[dict, dict]:
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    response = requests.get(url, timeout=TIMEOUT)
    if response.status_code != 200:
        raise Failure(f"discovery: {url} answered HTTP {response.status_code}")
    metadata = response.json()
    # OpenID Connect Discovery 1.0 §4.3: exactly the issuer asked for.
    if metadata.get("issuer") != issuer:
        raise Failure(f"discovery: issuer is {metadata.get('issuer')!r}, expected {issuer!r}")
    for key in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri"):
        if not metadata.get(key):
            raise Failure(f"discovery: the metadata has no {key}")
    if "S256" not in metadata.get("code_challenge_methods_supported", []):
        raise Failure("discovery: S256 is not among code_challenge_methods_supported")
    # Discovery §3: without the member, client_secret_basic is the default.
    auth_methods = metadata.get("token_endpoint_auth_methods_supported", ["client_secret_basic"])
    if "client_secret_basic" not in auth_methods:
        raise Failure("discovery: client_secret_basic is not among token_endpoint_auth_methods_supported")
    response = requests.get(metadata["jwks_uri"], timeout=TIMEOUT)
    if response.status_code != 200:
        raise Failure(f"discovery: the JWKS answered HTTP {response.status_code}")
    jwks = response.json()
    try:
        KeySet.import_key_set(jwks)
    except (JoseError, ValueError, KeyError, TypeError) as error:
        raise Failure(f"discovery: the JWKS cannot be read: {error}") from error
    if not jwks.get("keys"):
        raise Failure("discovery: the JWKS has no keys")
    return metadata, jwks


# Step 2 ---------------------------------------------------------------------


def sign_in(
    authorization_url: str,
    redirect_uri: str,
    username: str,
    password: str,
) -> tuple[str, bool]:
    """Plays the browser from the authorization URL to the redirect back to
    the client. Returns that redirect's URL and whether consent was asked."""
    browser = requests.Session()
    response = browser.get(authorization_url, allow_redirects=False, timeout=TIMEOUT)
    url = authorization_url
    signed_in = consented = False
    for _ in range(MAX_HOPS):
        if response.status_code in (301, 302, 303, 307, 308):
            location = response.headers.get("Location")
            if not location:
                raise Failure(f"login: HTTP {response.status_code} from {urlsplit(url).path} without a Location")
            target = urljoin(url, location)
            if same_endpoint(target, redirect_uri):
                return target, consented
            url = target
            response = browser.get(url, allow_redirects=False, timeout=TIMEOUT)
            continue
        if response.status_code != 200 or "html" not in response.headers.get("Content-Type", ""):
            raise Failure(f"login: {urlsplit(url).path} answered {describe(response)}")
        page = parse_page(response.text)
        login_form = form_with_action(page, url, "login")
        consent_form = form_with_action(page, url, "consent")
        if login_form is not None:
            if signed_in:
                reason = " ".join(e.strip() for e in page.errors if e.strip()) or "the sign-in page came back"
                raise Failure(f"login: sign-in refused: {reason}")
            signed_in = True
            # The form's fields, as the page carries them.
            data = {
                "csrf": hidden(login_form, "csrf"),
                "request": hidden(login_form, "request"),
                "username": username,
                "password": password,
            }
            url = urljoin(url, login_form["action"])
            response = browser.post(url, data=data, allow_redirects=False, timeout=TIMEOUT)
        elif consent_form is not None:
            if consented:
                raise Failure("login: the consent page came back after consent was given")
            if "allow" not in consent_form["buttons"].get("decision", []):
                raise Failure("login: the consent form has no decision=allow button")
            consented = True
            data = {
                "csrf": hidden(consent_form, "csrf"),
                "request": hidden(consent_form, "request"),
                "decision": "allow",
            }
            url = urljoin(url, consent_form["action"])
            response = browser.post(url, data=data, allow_redirects=False, timeout=TIMEOUT)
        else:
            raise Failure(f"login: unexpected page at {urlsplit(url).path}: {describe(response)}")
    raise Failure(f"login: no redirect to the client after {MAX_HOPS} hops")


def check_callback(callback: str, issuer: str, state: str) -> str:
    params = parse_qs(urlsplit(callback).query)
    first = {k: v[0] for k, v in params.items()}
    if any(len(v) > 1 for v in params.values()):
        raise Failure("login: a response parameter appears more than once")
    if "error" in first:
        raise Failure(f"login: the provider answered {first['error']}: {first.get('error_description', '')}")
    # RFC 9207 §2.4: the issuer in the response is the one the request went to.
    if first.get("iss") != issuer:
        raise Failure(f"login: iss in the response is {first.get('iss')!r}, expected {issuer!r}")
    if first.get("state") != state:
        raise Failure("login: state in the response does not match the request")
    if not first.get("code"):
        raise Failure("login: the response carries no code")
    return first["code"]


# Step 3 ---------------------------------------------------------------------


def validate_id_token(
    token: dict, jwks: dict, metadata: dict, issuer: str, client_id: str, nonce: str
) -> CodeIDToken:
    id_token = token.get("id_token")
    if not id_token:
        raise Failure("token: the response has no id_token")
    algorithms = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
    try:
        decoded = jwt.decode(
            id_token,
            KeySet.import_key_set(jwks),
            registry=JWSRegistry(algorithms=algorithms, strict_check_header=False),
        )
    except JoseError as error:
        raise Failure(f"id_token: signature not verified against the JWKS: {error}") from error
    claims = CodeIDToken(
        decoded.claims,
        decoded.header,
        # CodeIDToken checks iss, sub, aud, exp and iat are there; these
        # options pin iss and aud, and insist on at_hash, whose value
        # CodeIDToken compares with the access token.
        options={
            "iss": {"essential": True, "value": issuer},
            "aud": {"essential": True, "value": client_id},
            "at_hash": {"essential": True},
            "nonce": {"essential": True},
        },
        params={"nonce": nonce, "client_id": client_id, "access_token": token["access_token"]},
    )
    try:
        claims.validate(leeway=60)
    except JoseError as error:
        raise Failure(f"id_token: {error}") from error
    return claims


# Step 5 ---------------------------------------------------------------------


def refused_with(session: OAuth2Session, token_endpoint: str, refresh_token: str) -> str:
    """Presents `refresh_token`; returns the OAuth error, or fails if it
    was accepted."""
    try:
        session.refresh_token(token_endpoint, refresh_token=refresh_token)
    except OAuthError as error:
        return error.error
    raise Failure("refresh: a refresh token was accepted after its family should have been revoked")


def run(args: argparse.Namespace) -> None:
    issuer = args.issuer

    metadata, jwks = discover(issuer)
    print(f"ok discovery ({len(jwks['keys'])} signing key(s))")

    session = OAuth2Session(
        client_id=args.client_id,
        client_secret=args.client_secret,
        token_endpoint_auth_method="client_secret_basic",
        scope=SCOPE,
        redirect_uri=args.redirect_uri,
        code_challenge_method="S256",
        default_timeout=TIMEOUT,
    )
    # RFC 7636 §4.1: 43 to 128 unreserved characters.
    code_verifier = secrets.token_urlsafe(48)
    nonce = secrets.token_urlsafe(24)
    authorization_url, state = session.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=code_verifier, nonce=nonce
    )
    query = parse_qs(urlsplit(authorization_url).query)
    if query.get("code_challenge_method") != ["S256"] or not query.get("code_challenge"):
        raise Failure("login: Authlib built an authorization URL without a PKCE challenge")
    callback, consented = sign_in(authorization_url, args.redirect_uri, args.username, args.password)
    check_callback(callback, issuer, state)
    print(f"ok login (PKCE S256, state, nonce, iss; consent {'given' if consented else 'not asked'})")

    try:
        token = session.fetch_token(
            metadata["token_endpoint"],
            authorization_response=callback,
            state=state,
            code_verifier=code_verifier,
        )
    except OAuthError as error:
        raise Failure(f"token: the code exchange was refused: {error.error}: {error.description}") from error
    if str(token.get("token_type", "")).lower() != "bearer":
        raise Failure(f"token: token_type is {token.get('token_type')!r}, expected Bearer")
    for key in ("access_token", "refresh_token"):
        if not token.get(key):
            raise Failure(f"token: the response has no {key}")
    claims = validate_id_token(token, jwks, metadata, issuer, args.client_id, nonce)
    print(f"ok token (id_token {claims.header['alg']}: signature, iss, aud, exp, nonce, at_hash)")

    response = session.get(metadata["userinfo_endpoint"])
    if response.status_code != 200:
        raise Failure(f"userinfo: HTTP {response.status_code} {response.headers.get('WWW-Authenticate', '')}")
    userinfo = response.json()
    if userinfo.get("sub") != claims["sub"]:
        raise Failure("userinfo: sub differs from the ID token's")
    granted = set(str(token.get("scope", SCOPE)).split())
    expected = ["sub"]
    if "email" in granted:
        expected.append("email")
    if "profile" in granted:
        expected.append("preferred_username")
    missing = [c for c in expected if not userinfo.get(c)]
    if missing:
        scope = " ".join(sorted(granted))
        raise Failure(f"userinfo: missing claim(s) {', '.join(missing)} for scope {scope}")
    print(f"ok userinfo (sub matches; {', '.join(expected[1:]) or 'no other claims'} present)")

    old_access, old_refresh = token["access_token"], token["refresh_token"]
    try:
        refreshed = session.refresh_token(metadata["token_endpoint"], refresh_token=old_refresh)
    except OAuthError as error:
        raise Failure(f"refresh: refused: {error.error}: {error.description}") from error
    new_refresh = refreshed.get("refresh_token")
    if not refreshed.get("access_token") or refreshed["access_token"] == old_access:
        raise Failure("refresh: no new access token")
    if not new_refresh or new_refresh == old_refresh:
        raise Failure("refresh: the refresh token was not rotated")
    response = session.get(metadata["userinfo_endpoint"])
    if response.status_code != 200 or response.json().get("sub") != claims["sub"]:
        raise Failure(f"refresh: the new access token fails at userinfo (HTTP {response.status_code})")
    # Last: presenting a spent refresh token revokes its whole family.
    error = refused_with(session, metadata["token_endpoint"], old_refresh)
    if error != "invalid_grant":
        raise Failure(f"refresh: the old refresh token was refused with {error}, expected invalid_grant")
    error = refused_with(session, metadata["token_endpoint"], new_refresh)
    if error != "invalid_grant":
        raise Failure(
            f"refresh: after the reuse, the rotated refresh token was refused with {error},"
            " expected invalid_grant"
        )
    print("ok refresh (tokens rotated; the old refresh token refused with invalid_grant, its family revoked)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--issuer", required=True, help="the issuer identifier, exactly as in the metadata")
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", required=True)
    parser.add_argument("--redirect-uri", required=True, help="a redirect URI registered for the client")
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    args = parser.parse_args(argv)
    try:
        run(args)
    except Failure as failure:
        print(f"FAIL {failure}", file=sys.stderr)
        return 1
    except requests.RequestException as error:
        print(f"FAIL HTTP request failed: {error}", file=sys.stderr)
        return 1
    except (OAuthError, JoseError, ValueError, KeyError) as error:
        print(f"FAIL {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
