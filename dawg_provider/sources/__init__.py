"""Where generators come from: references, files, OCI registries, and the caches.

Lives here: reference parsing (`oci://`, `file://`), artifacts (bytes + digest),
the registry client, the content-addressed blob store, the fetcher that ties them
together, and the private cache directory.

May import: `dawg_provider.errors`, `dawg_provider.units` and `dawg_provider.observe` only.
"""
