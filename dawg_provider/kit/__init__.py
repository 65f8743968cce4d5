"""The generator author's kit: publishing, describing and documenting generators.

Pure functions and small steps the CLI's author-facing commands are made of
(`dawg push`, `inspect`, `docs`). Kept out of `cli.py` so the adapter stays thin,
and below it: the kit uses the parts and never the other adapters.

May import: errors, units, sources, wasm, grafana, spec, render.
"""
