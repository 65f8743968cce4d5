"""The sandbox: compiling and running generators under limits.

Lives here: the wasmtime runtime (one engine per process), the WASI sandbox and its
replaced clock/random/poll, components, the prototype ABI, the compiled-module disk
cache, run limits, and the checks on what a generator printed.

May import: `dawg_provider.errors`, `dawg_provider.units`, and `dawg_provider.sources`
(the artifact it runs and the cache root). Never `grafana`, `spec`, `render` or an adapter.
"""
