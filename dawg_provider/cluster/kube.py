"""The controller's Kubernetes calls: watching Dashboards, Leases, Events.

Kept beside `sources` (the listing) so the `kubernetes` client is imported in two
modules only, and only when used. Every call here turns the client's errors into
`KubeError` with the HTTP status, so the controller and the elector decide on plain
values.

Watches follow the API concepts doc ("Efficient detection of changes",
kubernetes.io/docs/reference/using-api/api-concepts/): start at the resourceVersion
of a list, ask for bookmarks (`allowWatchBookmarks`) so a quiet stream still moves
the resourceVersion forward, and on 410 Gone (the version was compacted) list again.
The client (kubernetes/watch/watch.py `Watch.stream`) raises a 410 ERROR event as an
ApiException when `timeout_seconds` is given, which it always is here.

Every call also has a client-side timeout (`_request_timeout`, a (connect, read) pair
that kubernetes/client/rest.py `RESTClientObject.request` turns into a urllib3
Timeout; without it a read waits forever). `timeout_seconds` only asks the server to
end the watch: over a half-open connection (NAT or conntrack expiry, a load balancer
failover) no byte and no end ever arrive, and the watch thread would block silently
while the controller stops reacting. So a watch read gives up `watch_slack` seconds
after the server's own deadline, and the Lease and Event calls after
`request_timeout`, shorter than the renew deadline, so a hung renewal cannot freeze
the elector. A timed-out call is a KubeError with status 0: the controller watches
again from the last resourceVersion, the elector retries. The listing and the status
patch (`sources.ClusterSource`) use `REQUEST_TIMEOUT` and `kube_error` too.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..errors import DawgError
from .crd import GROUP, PLURAL, VERSION

REQUEST_TIMEOUT = 5.0
"""Seconds to connect, and to wait for an answer to a one-object call (Lease, Event, status)."""


class KubeError(DawgError):
    """A Kubernetes API call failed (`status` is the HTTP status, 0 for no answer)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class WatchEvent:
    kind: str
    """ADDED, MODIFIED, DELETED or BOOKMARK."""
    obj: dict[str, Any]


def kube_error(what: str, error: Exception, read_timeout: float | None = None) -> KubeError:
    """A failed call as a KubeError: the HTTP status, or what happened when no answer came.

    Without an answer the client raises urllib3's errors, not ApiException: a read
    timeout is ReadTimeoutError, or MaxRetryError around it once urllib3 has retried an
    idempotent GET (urllib3/util/retry.py `Retry.increment`); a refused connection is
    MaxRetryError around NewConnectionError. They are named plainly here, never passed on.
    """
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError, ReadTimeoutError

    if isinstance(error, ApiException):
        return KubeError(f"{what}: HTTP {error.status} {error.reason}", int(error.status or 0))
    cause = error.reason if isinstance(error, MaxRetryError) and error.reason is not None else error
    if isinstance(cause, ReadTimeoutError):
        within = f" within {read_timeout:g} s" if read_timeout else ""
        return KubeError(
            f"{what}: no answer{within} (the API server, or a proxy on the way, took the request "
            "and did not respond)"
        )
    if isinstance(cause, NewConnectionError):  # a subclass of ConnectTimeoutError: first
        return KubeError(f"{what}: cannot connect to the API server")
    if isinstance(cause, ConnectTimeoutError):
        return KubeError(f"{what}: no connection to the API server (timed out)")
    return KubeError(f"{what}: {type(cause).__name__}")


class Kube:
    """The calls the controller makes, through one `kubernetes.client.ApiClient`."""

    def __init__(
        self, api_client: Any, request_timeout: float = REQUEST_TIMEOUT, watch_slack: float = 30.0
    ) -> None:
        from kubernetes import client

        self.timeout = (request_timeout, request_timeout)
        self.watch_slack = watch_slack
        self.custom = client.CustomObjectsApi(api_client)
        self.coordination = client.CoordinationV1Api(api_client)
        self.core = client.CoreV1Api(api_client)

    def watch(
        self, namespace: str | None, selector: str, resource_version: str, timeout: int
    ) -> Iterator[WatchEvent]:
        """Dashboard events after `resource_version` until `timeout` seconds; KubeError 410
        when that version is gone (list again)."""
        from kubernetes import watch

        stream: Any = watch.Watch()  # type: ignore[no-untyped-call]
        kwargs: dict[str, Any] = {
            "label_selector": selector,
            "resource_version": resource_version,
            "allow_watch_bookmarks": True,
            "timeout_seconds": timeout,
            "_request_timeout": (self.timeout[0], timeout + self.watch_slack),
        }
        try:
            if namespace is None:
                events = stream.stream(
                    self.custom.list_cluster_custom_object, GROUP, VERSION, PLURAL, **kwargs
                )
            else:
                events = stream.stream(
                    self.custom.list_namespaced_custom_object, GROUP, VERSION, namespace, PLURAL, **kwargs
                )
            for event in events:
                obj = event.get("object")
                yield WatchEvent(str(event.get("type")), obj if isinstance(obj, dict) else {})
        except Exception as error:
            raise kube_error("watching Dashboard resources", error, kwargs["_request_timeout"][1]) from None
        finally:
            stream.stop()

    def get_lease(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            lease = self.coordination.read_namespaced_lease(name, namespace, _request_timeout=self.timeout)
        except Exception as error:
            failure = kube_error(f"reading Lease {namespace}/{name}", error, self.timeout[1])
            if failure.status == 404:
                return None
            raise failure from None
        return self.coordination.api_client.sanitize_for_serialization(lease)  # type: ignore[no-any-return]

    def create_lease(self, namespace: str, body: dict[str, Any]) -> None:
        try:
            self.coordination.create_namespaced_lease(namespace, body, _request_timeout=self.timeout)  # type: ignore[arg-type]
        except Exception as error:
            raise kube_error(
                f"creating Lease {namespace}/{body['metadata']['name']}", error, self.timeout[1]
            ) from None

    def replace_lease(self, namespace: str, body: dict[str, Any]) -> None:
        name = body["metadata"]["name"]
        try:
            self.coordination.replace_namespaced_lease(name, namespace, body, _request_timeout=self.timeout)  # type: ignore[arg-type]
        except Exception as error:
            raise kube_error(f"updating Lease {namespace}/{name}", error, self.timeout[1]) from None

    def create_event(self, namespace: str, body: dict[str, Any]) -> None:
        try:
            self.core.create_namespaced_event(namespace, body, _request_timeout=self.timeout)  # type: ignore[arg-type]
        except Exception as error:
            raise kube_error(f"creating an Event in {namespace}", error, self.timeout[1]) from None
