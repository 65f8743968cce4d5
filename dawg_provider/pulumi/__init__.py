"""The Pulumi adapter: the `WasmDashboard` dynamic resource, its provider, and the
stack-config program. The only part of DAWG that imports `pulumi` (besides the
cluster install component).

May import: the parts (`wasm`, `sources`, `grafana`), `spec`, `render`, `errors`.
Never `cluster` or `cli`.
"""
