"""The wire under `registry`: where requests may go, how long they may take, how much they may read.

A registry is untrusted: it names the next URL (a redirect `Location`, a token
`realm`), it decides how fast and how much it answers. So, around the `oras` SDK:

- **Redirects** are followed here, never by `requests` (every request is sent with
  `allow_redirects=False`). The OCI distribution spec lets a registry redirect any
  request and says a client "MUST NOT forward Authorization headers across host
  boundaries" (spec.md, "API"); distribution redirects blob GETs to its storage
  backend (registry/storage/blobserver.go, `ServeBlob`). A hop to the registry's own
  host is followed; a hop to another host only if `target_problem` allows it (on the
  allow-list when there is one, never a loopback/link-local/private address
  otherwise, HTTPS unless the host is listed insecure), and always without the
  `Authorization` header. At most `MAX_REDIRECTS` hops, GET and HEAD only.
- **Token realms** (`WWW-Authenticate: Bearer realm=...`) pass the same rule. The
  Docker token spec has the client authenticate to the token server "using any
  authentication credentials provided with the request" (Basic), and the token server
  may be another host: Docker Hub's `registry-1.docker.io` names
  `https://auth.docker.io/token` (distribution/distribution docs/spec/auth/token.md,
  "How to authenticate", "Requesting a Token"). The realm comes from the registry, so
  the registry's credentials go to it only when it is bound to the registry
  (`realm_credentials`): on the registry's own host, or on a realm host the operator
  listed for that registry (`--registry-auth-realm REGISTRY=REALM_HOST`), and then
  over HTTPS only. Any other realm gets an anonymous token request. Otherwise a
  registry could name a real token service (or its own) and receive a token minted
  with our credentials for any scope it asks.
- **Bytes and time**: every answer is read here, `read1` at a time, against a byte cap
  (`MAX_ANSWER` for anything not streamed, the caller's cap for blobs). One
  `Deadline` per fetch bounds every network read of it, headers and TLS included:
  its watchdog shuts the fetch's sockets down when it passes (`deadline`), so a
  registry trickling its headers or body 1 byte at a time ends at the deadline, not
  when it stops. Each socket wait is also bounded by the remaining time.

`target_problem` and `is_loopback` are pure; the rest is plumbing.
"""

from __future__ import annotations

import ipaddress
import os
import re
import ssl
import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3

from ..units import format_size
from .deadline import Deadline, TransportError, running, watch_session

MAX_ANSWER = 4 * 1024 * 1024
"""Cap for any answer read whole (manifests, token responses, error bodies)."""
MAX_REDIRECTS = 5
CHUNK = 1 << 16


class AuthUnavailable(Exception):
    """oras could not answer an authentication challenge."""


class ReachRefused(Exception):
    """The registry pointed somewhere the rules do not let the job go."""


class TooLarge(Exception):
    """An answer went past its byte cap."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        super().__init__(f"larger than {format_size(cap)}")


def _split_host(host: str) -> str:
    name = host.lower()
    if name.startswith("["):
        return name[1 : name.index("]")]
    if name.count(":") == 1:
        return name.split(":")[0]
    return name


def is_loopback(host: str) -> bool:
    """True for `localhost`, 127.0.0.0/8 and ::1, with or without a port."""
    name = _split_host(host)
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def is_internal(host: str) -> bool:
    """Loopback, link-local (cloud metadata), private or unspecified address literals, and `localhost`."""
    name = _split_host(host)
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    return address.is_loopback or address.is_link_local or address.is_private or address.is_unspecified


def url_host(url: str) -> str:
    """`host[:port]` of a URL, lower case, without userinfo."""
    return urlsplit(url).netloc.rpartition("@")[2].lower()


def realm_host(url: str) -> str:
    """`host[:port]` of a realm URL, without the default port of its scheme."""
    host = url_host(url)
    default = {"https": ":443", "http": ":80"}.get(urlsplit(url).scheme, "")
    return host.removesuffix(default) if default and host.endswith(default) else host


def realm_credentials(realm: str, registry: str, bound: frozenset[str]) -> bool:
    """Whether `registry`'s credentials may go with a token request to `realm`. Pure.

    Yes on the registry's own host; on a realm host the operator bound to this registry
    (`bound`), only over HTTPS; never anywhere else, whatever the registry says.
    """
    host = realm_host(realm)
    if host == registry.lower():
        return True
    return urlsplit(realm).scheme == "https" and host in bound


def target_problem(
    url: str, registry: str, allowed: frozenset[str] | None, insecure: frozenset[str]
) -> str | None:
    """Why the job will not send a request to `url` on behalf of `registry`, or None.

    `allowed` None means no allow-list (a local run): any public HTTPS host.
    """
    parts = urlsplit(url)
    host = url_host(url)
    if parts.scheme not in ("http", "https") or not host:
        return "it is not an http(s) URL with a host"
    if parts.username is not None or parts.password is not None:
        return "it carries credentials in the URL"
    same = host == registry.lower()
    listed = allowed is not None and host in allowed
    if parts.scheme == "http" and not (host in insecure or (is_loopback(host) and (same or listed))):
        return f"it is plain HTTP to {host}; only HTTPS, or a host listed as insecure"
    if same or listed:
        return None
    if allowed is not None:
        return f"{host} is not on the job's registry allow-list ({', '.join(sorted(allowed)) or 'none'})"
    if is_internal(host):
        return f"{host} is a loopback, link-local or private address"
    return None


def iter_body(response: requests.Response, deadline: Deadline, cap: int) -> Iterator[bytes]:
    """The body, chunk by chunk as it arrives, within the deadline and `cap` bytes."""
    length = response.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > cap:
        response.close()
        raise TooLarge(cap)
    size = 0
    raw = response.raw
    try:
        while True:
            deadline.remaining()
            chunk = raw.read1(CHUNK, decode_content=True)
            if not chunk:  # end of stream; a body read until close ends here when cut too
                if deadline.expired:
                    raise deadline.error()
                return
            size += len(chunk)
            if size > cap:
                raise TooLarge(cap)
            yield chunk
    except (urllib3.exceptions.HTTPError, OSError) as error:
        if deadline.expired:  # the watchdog shut the socket down
            raise deadline.error() from None
        raise TransportError(f"the answer broke off ({type(error).__name__})") from None
    finally:
        response.close()


def bounded_session(session: requests.Session, timeout: float, deadline: Callable[[], Deadline]) -> None:
    """Make every request of `session` redirect-free, deadline-bound and byte-capped."""
    watch_session(session)
    request: Any = session.request

    def send(current: Deadline, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:
        left = current.remaining()
        kwargs["timeout"] = (min(timeout, 10.0, left), min(timeout, left))
        kwargs["allow_redirects"] = False
        streaming = kwargs.get("stream", False)
        kwargs["stream"] = True
        try:
            response: requests.Response = request(method, url, *args, **kwargs)
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError):
            if current.expired:  # the watchdog shut the socket down mid-headers
                raise current.error() from None
            raise
        if current.expired:  # a HEAD or a redirect whose connection the watchdog cut
            response.close()
            raise current.error()
        if method.upper() == "HEAD":  # no body, whatever Content-Length says
            response._content = b""
            response.close()
        elif not streaming:
            response._content = b"".join(iter_body(response, current, MAX_ANSWER))
        return response

    def bounded(method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:
        current = deadline()
        if running() is current:
            return send(current, method, url, *args, **kwargs)
        with current:  # a lone request (a push): its own watchdog
            return send(current, method, url, *args, **kwargs)

    setattr(session, "request", bounded)  # noqa: B010 (an instance attribute, not the class's method)


def follow_redirects(
    session: requests.Session,
    response: requests.Response,
    method: str,
    headers: dict[str, str] | None,
    check: Callable[[str], str | None],
    registry: str,
    **kwargs: Any,
) -> requests.Response:
    """Follow `response`'s redirects by the rules; `Authorization` only to `registry` itself."""
    hops = 0
    while response.is_redirect:
        location = response.headers.get("Location", "")
        target = urljoin(response.url, location)
        response.close()
        hops += 1
        if hops > MAX_REDIRECTS:
            raise ReachRefused(f"the registry redirected more than {MAX_REDIRECTS} times")
        if method not in ("GET", "HEAD"):
            raise ReachRefused(f"the registry redirected a {method} request; only GET and HEAD are followed")
        problem = check(target)
        if problem is not None:
            raise ReachRefused(f"the registry redirected to {url_host(target) or location[:80]!r}: {problem}")
        sent = {
            k: v
            for k, v in (headers or {}).items()
            if url_host(target) == registry.lower() or k.lower() != "authorization"
        }
        response = session.request(method, target, headers=sent, **kwargs)
    return response


_REPOSITORY = re.compile(r"^/v2/(.+?)/(?:manifests|blobs|tags|referrers)/")


def repository_of(url: str) -> str:
    """The repository a registry API URL is about (`team/gen` of `/v2/team/gen/blobs/...`), or "". Pure."""
    match = _REPOSITORY.match(urlsplit(url).path)
    return match.group(1) if match else ""


def system_ca_bundle() -> str | bool:
    paths = ssl.get_default_verify_paths()
    for candidate in (os.environ.get("SSL_CERT_FILE"), paths.cafile, paths.openssl_cafile):
        if candidate and os.path.isfile(candidate):
            return candidate
    return True


def reason(error: requests.RequestException) -> str:
    if isinstance(error, requests.Timeout):
        return "timed out"
    text = str(error)
    for marker in ("Connection refused", "Name or service not known", "No route to host", "Connection reset"):
        if marker in text:
            return marker.lower()
    return type(error).__name__


def make_oras_registry(
    host: str,
    *,
    plain: bool,
    verify: str | bool,
    timeout: float,
    credentials: tuple[str, str] | None,
    realms: frozenset[str],
    check: Callable[[str], str | None],
    deadline: Callable[[], Deadline],
    count: Callable[[], None],
    tls_hint: str,
) -> Any:
    """An oras Registry for `host` under the rules above; oras is imported lazily (slow to import).

    `check(url)` says why a redirect target or token realm is refused (`target_problem`);
    `realms` are the realm hosts the operator bound to `host` (`realm_credentials`).
    """
    import oras.auth
    import oras.auth.utils
    import oras.provider

    class Auth(oras.auth.TokenAuth):  # type: ignore[misc]
        """Bearer tokens from a checked realm, one per challenge scope; Basic for registries that ask it.

        oras keeps one `token` for the whole host and re-sends it on a 401 (oras/auth/token.py,
        `TokenAuth.authenticate_request`), but a token is minted for the scope the challenge
        names, one repository (distribution docs/spec/auth/scope.md): so tokens are kept per
        `(realm, service, scope)`, and each repository remembers which one it was challenged for.
        """

        def __init__(self) -> None:
            super().__init__()
            self._lock = threading.Lock()
            self._tokens: dict[tuple[str, str, str], str] = {}
            self._scopes: dict[str, tuple[str, str, str]] = {}

        def cached(self, repository: str) -> str | None:
            """The token last minted for `repository`'s challenge, if any."""
            with self._lock:
                key = self._scopes.get(repository)
                return None if key is None else self._tokens.get(key)

        def answer(
            self, original: requests.Response, headers: dict[str, str], repository: str, stale: str | None
        ) -> tuple[dict[str, str], bool]:
            """Headers answering `original`'s challenge; False when there is no answer."""
            challenge = original.headers.get("Www-Authenticate", "")
            basic = getattr(self, "_basic_auth", None)
            if challenge.lower().startswith("basic"):
                if not basic or url_host(original.url) != host.lower():
                    return headers, False
                return {**headers, "Authorization": f"Basic {basic}"}, True
            if not challenge.lower().startswith("bearer"):
                return headers, False
            h = oras.auth.utils.parse_auth_header(challenge)
            key = (h.realm or "", h.service or "", h.scope or "")
            with self._lock:
                token = self._tokens.get(key)
            if token is None or token == stale:  # none yet for this scope, or the one refused
                token = self._token(h, with_credentials=True)
            if not token:
                return headers, False
            with self._lock:
                self._tokens[key] = token
                self._scopes[repository] = key
            return {**headers, "Authorization": f"Bearer {token}"}, True

        def authenticate_request(
            self, original: requests.Response, headers: dict[str, str], refresh: bool = False
        ) -> tuple[dict[str, str], bool]:
            return self.answer(original, dict(headers or {}), repository_of(original.url), None)

        def request_anonymous_token(self, h: Any) -> str | None:
            return self._token(h, with_credentials=False)

        def request_token(self, h: Any) -> str | None:
            return self._token(h, with_credentials=True)

        def _token(self, h: Any, with_credentials: bool) -> str | None:
            if not h.realm:
                return None
            realm = h.realm if "://" in h.realm else f"{self.prefix}://{h.realm}"
            problem = check(realm)
            if problem is not None:
                raise ReachRefused(
                    f"the registry's token realm {url_host(realm) or realm[:80]!r} is refused: {problem}"
                )
            params = {k: v for k, v in (("service", h.service), ("scope", h.scope)) if v}
            headers = {"Accept": "application/json"}
            basic = getattr(self, "_basic_auth", None)
            if with_credentials and basic and realm_credentials(realm, host, realms):
                headers["Authorization"] = f"Basic {basic}"
            answer = self.session.get(realm, headers=headers, params=params, verify=verify)
            if answer.status_code != 200:
                return None
            try:
                info = answer.json()
            except ValueError:
                raise ReachRefused(
                    "the registry's token service answered something that is not JSON"
                ) from None
            token = info.get("token") or info.get("access_token") if isinstance(info, dict) else None
            return token if isinstance(token, str) and token else None

    class Registry(oras.provider.Registry):  # type: ignore[misc]
        def do_request(
            self,
            url: str,
            method: str = "GET",
            data: Any = None,
            headers: dict[str, str] | None = None,
            json: Any = None,
            stream: bool = False,
        ) -> requests.Response:
            """oras' request with its auth retry, but the token of `url`'s own repository.

            No blind retries with minute-long sleeps (oras' decorator is not used): one
            answer to a 401/403 challenge, with a fresh token when the one sent was refused.
            """
            count()
            repository = repository_of(url)
            sent = dict(headers or {})
            token = auth.cached(repository)
            if token:
                sent["Authorization"] = f"Bearer {token}"

            def once(with_headers: dict[str, str]) -> requests.Response:
                answer: requests.Response = self.session.request(
                    method, url, data=data, json=json, headers=with_headers, stream=stream, verify=verify
                )
                return answer

            try:
                response = once(sent)
                if response.status_code in (401, 403):
                    sent, changed = auth.answer(response, sent, repository, token)
                    if not changed:
                        raise AuthUnavailable()
                    response.close()
                    response = once(sent)
                return follow_redirects(
                    self.session, response, method, sent, check, host, stream=stream, verify=verify
                )
            except requests.exceptions.SSLError:
                raise TransportError(f"TLS verification of {host} failed", tls_hint) from None
            except requests.RequestException as error:
                raise TransportError(f"registry {host} did not answer: {reason(error)}") from None

    registry = Registry(hostname=host, insecure=plain, tls_verify=verify)
    auth = Auth()
    auth.session = registry.session
    auth.prefix = "http" if plain else "https"
    auth._tls_verify = verify
    registry.auth = auth
    bounded_session(registry.session, timeout, deadline)
    if credentials:
        auth.set_basic_auth(*credentials)
    return registry
