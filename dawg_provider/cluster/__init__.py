"""The cluster adapter: the `dawg sync` pass over `Dashboard` custom resources (or
manifests), the CRD generated from code, and the `DawgSync` install component.

May import: the parts, `spec`, `render`, `errors`. Never `pulumi` (the adapter) or
`cli`: the CLI builds the sync command's parser from here, never the reverse.
`install` (the Pulumi component) is imported on demand only, so the sync job never
loads pulumi.
"""


def __getattr__(name: str) -> object:
    """`DawgSync` and its arguments, imported on first use: the sync job never loads pulumi."""
    if name in ("DawgSync", "DawgSyncArgs"):
        from . import install

        return getattr(install, name)
    raise AttributeError(f"module 'dawg_provider.cluster' has no attribute {name!r}")
