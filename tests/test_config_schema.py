"""Config schemas carried in a generator's own bytes: found, checked, and survived when hostile."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import wasmtime

from dawg_provider import Artifact, ConfigInvalid, InvalidModule, Runtime
from dawg_provider.kit.docs import config_reference
from dawg_provider.wasm.config_schema import MAX_SCHEMA_BYTES, SECTION, load_schema, read_schema
from dawg_provider.wasm.sections import SectionError, read_custom_section, sections, set_custom_section
from generators.build import EXAMPLES
from tests.peak_rss import CHILD_PEAK

CORE = bytes(wasmtime.wat2wasm('(module (memory (export "memory") 1) (func (export "_start")))'))
SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "replicas": {"type": "integer", "minimum": 1},
        "limits": {
            "type": "object",
            "properties": {"cpu": {"type": "string"}},
            "additionalProperties": False,
        },
        "panels": {"type": "array", "items": {"type": "object", "required": ["title"]}},
    },
    "required": ["name"],
    "additionalProperties": False,
}


def with_schema(wasm: bytes, schema: object) -> bytes:
    text = schema if isinstance(schema, (bytes, str)) else json.dumps(schema)
    return set_custom_section(wasm, SECTION, text.encode() if isinstance(text, str) else text)


def problems(config: str, schema: object = SCHEMA) -> list[str]:
    return load_schema("gen", json.dumps(schema).encode()).problems(config.encode())


# --- custom sections -------------------------------------------------------------------------


def test_a_section_round_trips_and_embedding_twice_gives_the_same_bytes() -> None:
    once = set_custom_section(CORE, SECTION, b'{"type":"object"}')
    assert set_custom_section(once, SECTION, b'{"type":"object"}') == once
    assert read_custom_section(io.BytesIO(once), SECTION, 1024) == b'{"type":"object"}'
    replaced = set_custom_section(once, SECTION, b"{}")
    assert read_custom_section(io.BytesIO(replaced), SECTION, 1024) == b"{}"
    assert read_custom_section(io.BytesIO(CORE), SECTION, 1024) is None
    wasmtime.Module.validate(wasmtime.Engine(), replaced)  # still a valid module


def test_components_carry_the_section_at_their_top_level(example_wasm: dict[str, Path]) -> None:
    for name in ("python-service", "js-network"):
        with example_wasm[name].open("rb") as stream:
            found = [s for s in sections(stream) if s.id == 0 and s.name == SECTION]
            assert len(found) == 1
            content = read_custom_section(stream, SECTION, MAX_SCHEMA_BYTES)
        assert content is not None and json.loads(content)["required"]


def test_malformed_sections_are_refused_not_trusted() -> None:
    twice = CORE + bytes([0, 4, 3]) + b"abc" + bytes([0, 4, 3]) + b"abc"
    with pytest.raises(SectionError, match="2 custom sections"):
        read_custom_section(io.BytesIO(twice), "abc", 10)
    truncated = CORE + bytes([0, 0xFF, 0xFF, 0x03]) + b"\x01x"
    with pytest.raises(SectionError, match="the binary ends before"):
        sections(io.BytesIO(truncated))
    endless = CORE + bytes([0]) + b"\xff" * 6
    with pytest.raises(SectionError, match="LEB128"):
        sections(io.BytesIO(endless))
    big = with_schema(CORE, b" " * (MAX_SCHEMA_BYTES + 1))
    with pytest.raises(SectionError, match="over the limit"):
        read_custom_section(io.BytesIO(big), SECTION, MAX_SCHEMA_BYTES)


# --- field-level errors ------------------------------------------------------------------------


def test_wrong_types_unknown_and_missing_fields_name_their_path() -> None:
    found = problems("replicas: three\nnamspace: x\nlimits: {cpux: 1}\npanels: [{}, {title: t}]\n")
    assert found == [
        'config: field "name" is required',
        'config: unknown field "namspace" (known fields: limits, name, panels, replicas)',
        'config: unknown field "limits.cpux" (known fields: cpu)',
        'config: field "panels[0].title" is required',
        'config: field "replicas" must be an integer, got string "three"',
    ]
    assert problems("name: web\nreplicas: 2\n") == []
    assert problems("name: 42") == [
        'config: field "name" must be a string, got number 42 (quote it if you meant the text)'
    ]
    assert problems("") == ['config: field "name" is required']  # empty config is {}
    assert problems("[1, 2]") == ["config: the config must be a mapping, got array [...]"]


def test_config_that_is_not_yaml_or_uses_aliases_is_one_clear_problem() -> None:
    assert problems("name: [unclosed")[0].startswith("config: is not valid YAML or JSON")
    bomb = "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\nname: x\n"
    assert problems(bomb) == [
        "config: is not valid YAML or JSON: YAML aliases (*name) are not supported in configs"
    ]
    assert problems("name: 2024-01-01") == []  # a date stays the text written


# --- hostile schemas ---------------------------------------------------------------------------


def test_a_schema_that_is_not_json_is_an_invalid_module() -> None:
    with pytest.raises(InvalidModule, match=r"dawg\.config-schema section is not JSON"):
        load_schema("gen", b"type: object")
    with pytest.raises(InvalidModule, match="must be a JSON object"):
        load_schema("gen", b"[]")
    with pytest.raises(InvalidModule, match="not a valid JSON Schema at properties/x/type"):
        load_schema("gen", b'{"properties": {"x": {"type": "strnig"}}}')


def test_a_huge_or_deep_schema_is_refused_before_it_is_parsed() -> None:
    huge = json.dumps({"description": "x" * MAX_SCHEMA_BYTES}).encode()
    with pytest.raises(InvalidModule, match="over the limit of 65536"):
        load_schema("gen", huge)
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(InvalidModule, match="over the limit"):
        load_schema("gen", deep.encode())
    nested = '{"items":' * 40 + "{}" + "}" * 40
    with pytest.raises(InvalidModule, match="nests more than 32 levels"):
        load_schema("gen", nested.encode())


class _Counting(BaseHTTPRequestHandler):
    hits: list[str] = []  # noqa: RUF012

    def do_GET(self) -> None:
        _Counting.hits.append(self.path)
        body = b'{"type": "string"}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def schema_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Counting)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Counting.hits = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_remote_ref_is_refused_and_never_fetched(schema_server: str) -> None:
    remote = {"properties": {"name": {"$ref": f"{schema_server}/name.json"}}}
    with pytest.raises(InvalidModule, match="outside itself") as caught:
        load_schema("gen", json.dumps(remote).encode())
    assert "never fetches" in str(caught.value)
    relative = {"$id": f"{schema_server}/root.json", "properties": {"name": {"$ref": "name.json"}}}
    with pytest.raises(InvalidModule, match="outside itself"):
        load_schema("gen", json.dumps(relative).encode())
    # A local ref whose base is remote still resolves in memory, never over the network.
    local = {
        "$id": f"{schema_server}/root.json",
        "$defs": {"n": {"type": "string"}},
        "properties": {"name": {"$ref": "#/$defs/n"}},
    }
    assert load_schema("gen", json.dumps(local).encode()).problems(b"name: 3")
    assert _Counting.hits == []


def test_a_pathological_pattern_is_matched_in_linear_time() -> None:
    evil = {"properties": {"name": {"type": "string", "pattern": "^(a+)+$"}}}
    schema = load_schema("gen", json.dumps(evil).encode())
    config = ("name: " + "a" * 50_000 + "b").encode()
    started = time.perf_counter()
    found = schema.problems(config)
    assert time.perf_counter() - started < 2.0  # Python's re would take longer than the universe
    assert len(found) == 1 and "does not match" in found[0] and len(found[0]) < 400
    keys = {"patternProperties": {"^(a|a)*$": {"type": "integer"}}}
    assert load_schema("gen", json.dumps(keys).encode()).problems(("a" * 40 + "b: x").encode()) == []
    with pytest.raises(InvalidModule, match="RE2 cannot run"):
        load_schema("gen", json.dumps({"pattern": "^(a)\\1$"}).encode())


# --- in the runtime ----------------------------------------------------------------------------


def test_the_runtime_checks_config_before_it_compiles_or_runs(
    example_wasm: dict[str, Path], tmp_path: Path
) -> None:
    artifact = Artifact.from_bytes("simple", example_wasm["simple"].read_bytes())
    runtime = Runtime(tmp_path / "cache")
    with pytest.raises(ConfigInvalid) as caught:
        runtime.run(artifact, "app_nam: web\n")
    assert caught.value.exit_code == 1
    assert caught.value.problems == [
        'config: unknown field "app_nam" (known fields: app_name, datasource)',
        'config: field "app_name" is required',
    ]
    # Nothing was compiled, let alone run: the generator never saw the bad config.
    assert runtime.modules.stats.compiles == 0
    assert not (tmp_path / "cache" / "modules").exists() or not any(
        (tmp_path / "cache" / "modules").iterdir()
    )
    assert runtime.run(artifact, "app_name: web\n").dashboard["title"] == "web"


def test_a_generator_with_a_broken_schema_is_refused_and_one_without_runs(
    runtime: Runtime, hostile: dict[str, Artifact]
) -> None:
    broken = Artifact.from_bytes("broken", with_schema(CORE, b"{not json"))
    with pytest.raises(InvalidModule, match="not JSON"):
        runtime.run(broken, "")
    assert runtime.config_schema(hostile["zig"]) is None  # no section: config stays opaque


def test_every_example_declares_a_schema_its_example_config_meets(example_wasm: dict[str, Path]) -> None:
    for example in EXAMPLES:
        with example_wasm[example.name].open("rb") as stream:
            schema = read_schema(example.name, stream)
        assert schema is not None, example.name
        assert schema.problems(example.example_config.read_bytes()) == [], example.name
        assert json.loads(schema.text) == json.loads(example.schema.read_text())


def test_docs_is_a_markdown_table_of_the_fields() -> None:
    page = config_reference("gen.wasm", {**SCHEMA, "title": "Demo", "examples": [{"name": "web"}]})
    assert page.startswith("# Demo (gen.wasm)\n")
    assert "| `name` | string | yes |  | not empty |" in page
    assert "| `limits.cpu` | string | no |  |  |" in page
    assert "| `panels` | array of object | no |" in page
    assert "Fields not listed here are refused." in page and '"name": "web"' in page
    assert "declares no config schema" in config_reference("gen.wasm", None)


# --- schemas whose checking would not end (findings 13.1) ----------------------------------------


def exponential_schema(levels: int = 40) -> dict[str, object]:
    """2.8 KB: each level an anyOf of two $refs to the next, 2^levels evaluations of one value."""
    defs: dict[str, object] = {
        f"a{i}": {"anyOf": [{"$ref": f"#/$defs/a{i + 1}"}, {"$ref": f"#/$defs/a{i + 1}"}]}
        for i in range(levels)
    }
    defs[f"a{levels}"] = {"type": "string"}
    return {"$defs": defs, "$ref": "#/$defs/a0"}


UNENDING = {
    "exponential": exponential_schema(),
    "self": {"$ref": "#"},
    "cycle": {"$defs": {"a": {"allOf": [{"$ref": "#/$defs/b"}]}, "b": {"not": {"$ref": "#/$defs/a"}}}},
    "anchor-cycle": {"$anchor": "top", "anyOf": [{"$ref": "#top"}]},
    "long-chain": {
        "$defs": {f"c{i}": {"$ref": f"#/$defs/c{i + 1}"} for i in range(100)} | {"c100": {}},
        "$ref": "#/$defs/c0",
    },
    "dangling": {"properties": {"a": {"$ref": "#/$defs/missing"}}},
    "dynamic": {"$dynamicRef": "#"},
}


@pytest.mark.parametrize("name", sorted(UNENDING))
def test_a_schema_whose_check_would_not_end_is_refused_when_loaded(name: str) -> None:
    started = time.perf_counter()
    with pytest.raises(InvalidModule) as caught:
        load_schema("gen", json.dumps(UNENDING[name]).encode())
    assert time.perf_counter() - started < 2.0
    assert "generator gen: its dawg.config-schema section" in str(caught.value)
    assert "cannot bound" in str(caught.value) or "not in the schema" in str(caught.value)


def test_recursion_through_the_config_is_still_allowed() -> None:
    tree = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "children": {"items": {"$ref": "#"}}},
    }
    schema = load_schema("gen", json.dumps(tree).encode())
    assert schema.problems(b"name: a\nchildren: [{name: b, children: [{name: c}]}]") == []
    assert schema.problems(b"children: [{children: [{name: 3}]}]") == [
        'config: field "children[0].children[0].name" must be a string, got number 3 '
        "(quote it if you meant the text)"
    ]


def test_a_check_that_passes_the_load_bounds_still_stops_within_its_budget() -> None:
    # Fans out through properties, so each level of the config doubles the work: legal to
    # load (a config ends), but 2^30 evaluations for a config 30 levels deep.
    defs: dict[str, object] = {
        f"a{i}": {
            "anyOf": [
                {"properties": {"x": {"$ref": f"#/$defs/a{i + 1}"}}, "required": ["y"]},
                {"properties": {"x": {"$ref": f"#/$defs/a{i + 1}"}}, "required": ["z"]},
            ]
        }
        for i in range(30)
    }
    defs["a30"] = {"type": "string"}
    schema = load_schema("gen", json.dumps({"$defs": defs, "$ref": "#/$defs/a0"}).encode())
    config = "{x: " * 30 + "1" + "}" * 30
    started = time.perf_counter()
    found = schema.problems(config.encode())
    assert time.perf_counter() - started < 20.0  # ~2 s on a loaded 2-core machine; 2^30 without the budget
    assert len(found) == 1 and "was stopped" in found[0]
    # A wide config a real schema checks item by item stays well inside the budget.
    rows = {"properties": {"rows": {"items": {"properties": {"a": {"type": "integer"}}, "required": ["a"]}}}}
    wide = json.dumps({"rows": [{"a": i} for i in range(5000)]})
    assert load_schema("gen", json.dumps(rows).encode()).problems(wide.encode()) == []


HOSTILE_RUN = (
    CHILD_PEAK
    + """
import json, sys, time
from dawg_provider import Artifact, Runtime
from dawg_provider.errors import InvalidModule
from dawg_provider.wasm.config_schema import SECTION
from dawg_provider.wasm.sections import set_custom_section
wasm = set_custom_section(open(sys.argv[1], "rb").read(), SECTION, sys.argv[2].encode())
runtime = Runtime(disk_cache=False)
started = time.perf_counter()
try:
    runtime.run(Artifact.from_bytes("hostile", wasm), b"title: x")
    outcome = "ran"
except InvalidModule as error:
    outcome = "InvalidModule: " + str(error).splitlines()[0]
seconds = time.perf_counter() - started
rss = peak_kib() // 1024  # the child's own peak: tests/peak_rss.py
print(json.dumps({"outcome": outcome, "seconds": seconds, "rss_mb": rss}))
"""
)


@pytest.mark.parametrize("name", ["exponential", "self"])
def test_the_runtime_refuses_an_unending_schema_in_bounded_time_and_memory(
    name: str, example_wasm: dict[str, Path]
) -> None:
    import subprocess
    import sys

    script = [sys.executable, "-c", HOSTILE_RUN, str(example_wasm["simple"]), json.dumps(UNENDING[name])]
    done = subprocess.run(script, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["outcome"].startswith("InvalidModule: generator hostile"), result
    assert result["seconds"] < 10 and result["rss_mb"] < 512, (
        result
    )  # was: >25 s and ~1 GB, or a RecursionError


# --- configs that would make the check quadratic or huge (findings 13.2) -----------------------

UNIQUE_TAGS = {"type": "object", "properties": {"tags": {"type": "array", "uniqueItems": True}}}


def test_unique_items_of_mappings_is_checked_in_linear_time() -> None:
    config = "tags:\n" + "".join(f"- {{a: {i}}}\n" for i in range(3000))
    started = time.perf_counter()
    assert problems(config, UNIQUE_TAGS) == []
    assert time.perf_counter() - started < 5.0  # ~0.3 s (mostly YAML); was 40 s for 2,000 items
    assert problems("tags: [{a: 1}, {b: 2}, {a: 1.0}]", UNIQUE_TAGS) == [
        'config: field "tags": has a repeated item at [2]: {...}'
    ]
    assert problems("tags: [1, true, '1', [1], {a: [1]}]", UNIQUE_TAGS) == []  # true is not 1


def test_a_config_over_the_bounds_is_refused_before_it_is_checked(
    example_wasm: dict[str, Path], tmp_path: Path
) -> None:
    from dawg_provider.wasm.config_yaml import MAX_CONFIG_BYTES, MAX_CONFIG_DEPTH, MAX_CONFIG_NODES

    huge = "tags: [" + "1," * (MAX_CONFIG_BYTES // 2) + "1]"
    assert problems(huge, UNIQUE_TAGS) == [
        f"config: is {len(huge)} bytes, over the limit of {MAX_CONFIG_BYTES} for a config checked against a schema"
    ]
    many = "tags: [" + ",".join(["{}"] * MAX_CONFIG_NODES) + "]"
    assert problems(many, UNIQUE_TAGS) == [
        f"config: holds more than {MAX_CONFIG_NODES} values, over the limit for a checked config"
    ]
    deep = "tags: " + "[" * MAX_CONFIG_DEPTH + "]" * MAX_CONFIG_DEPTH
    assert problems(deep, UNIQUE_TAGS) == [f"config: nests more than {MAX_CONFIG_DEPTH} levels deep"]
    # Through the runtime: refused as a config problem, and the generator never compiled or ran.
    artifact = Artifact.from_bytes("simple", example_wasm["simple"].read_bytes())
    runtime = Runtime(tmp_path / "cache")
    with pytest.raises(ConfigInvalid, match="over the limit"):
        runtime.run(artifact, "app_name: web\nx: [" + "1," * MAX_CONFIG_BYTES + "1]")
    assert runtime.modules.stats.compiles == 0


# --- binaries made of many sections (findings 13.3) --------------------------------------------


def test_a_binary_of_millions_of_empty_sections_is_refused_at_once() -> None:
    from dawg_provider.wasm.sections import MAX_SECTIONS

    bomb = CORE + b"\x00\x01\x00" * 2_000_000  # 6 MB of valid, empty custom sections
    started = time.perf_counter()
    with pytest.raises(InvalidModule, match=f"more than {MAX_SECTIONS} top-level sections"):
        read_schema("bomb", io.BytesIO(bomb))
    assert time.perf_counter() - started < 1.0  # ~30 ms; was 19 s and 249 MB for 1M sections
    # Below the cap, a schema after many sections is still found.
    legal = with_schema(CORE + b"\x00\x01\x00" * (MAX_SECTIONS - 20), {"type": "object"})
    schema = read_schema("legal", io.BytesIO(legal))
    assert schema is not None and schema.schema == {"type": "object"}
    with pytest.raises(SectionError, match="not a WebAssembly binary"):
        sections(io.BytesIO(b"\x7fELF" + CORE[4:]))


def test_a_refused_schema_is_read_once_per_digest(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    from dawg_provider.wasm import runtime as runtime_module

    reads: list[str] = []
    real = read_schema

    def counting(generator: str, stream: io.BufferedIOBase) -> object:
        reads.append(generator)
        return real(generator, stream)  # type: ignore[arg-type]

    monkeypatch.setattr(runtime_module, "read_schema", counting)
    broken = Artifact.from_bytes("broken-once", with_schema(CORE, b"{not json, read once"))
    for _ in range(3):
        with pytest.raises(InvalidModule, match="not JSON") as caught:
            runtime.config_schema(broken)
        assert caught.value.__traceback__ is not None
        assert len(list(_frames(caught.value.__traceback__))) < 10  # re-raised, not re-grown
    assert reads == ["broken-once (sha256:" + broken.digest[7:19] + ")"]


def _frames(tb: object) -> Iterator[object]:
    while tb is not None:
        yield tb
        tb = tb.tb_next  # type: ignore[attr-defined]


# --- YAML 1.2, as generators read it (findings 13.6) -------------------------------------------


def test_the_config_is_read_as_yaml_1_2_core_not_1_1() -> None:
    flags = {
        "type": "object",
        "required": ["on"],
        "properties": {"on": {"type": "boolean"}, "country": {"type": "string"}, "n": {"type": "integer"}},
        "additionalProperties": False,
    }
    assert problems("on: true\ncountry: no\n", flags) == []  # YAML 1.1: {True: True, country: False}
    assert problems("on: yes\n", flags) == ['config: field "on" must be true or false, got string "yes"']
    assert problems("on: TRUE\nn: 0x1F\n", flags) == []
    assert problems("on: false\nn: 1_000\n", flags) == [
        'config: field "n" must be an integer, got string "1_000"'
    ]
    assert problems("on: false\ncountry: 2024-01-01\n", flags) == []
    assert problems("on: true\n1: x\n", flags) == [
        'config: has a key that is not text in the top: 1 (quote it: "1")'
    ]
    assert problems("on: true\ncountry: {y: n, true: x}\n", flags) == [
        'config: has a key that is not text in field "country": true (quote it: "true")'
    ]


# --- unknown fields and patternProperties (findings 13.7) --------------------------------------


def test_keys_that_pattern_properties_allow_are_not_called_unknown() -> None:
    schema = {"properties": {"a": {}}, "patternProperties": {"^x-": {}}, "additionalProperties": False}
    assert problems("x-team: 1\ntypo: 2", schema) == [
        "config: unknown field \"typo\" (known fields: a; or names matching '^x-')"
    ]
    assert problems("a: 1\nx-team: 2", schema) == []
    typed = {"patternProperties": {"^x-": {"type": "integer"}}, "additionalProperties": {"type": "string"}}
    assert problems("x-n: 1\nother: text", typed) == []
    assert problems("x-n: one\nother: 2", typed) == [
        'config: field "other" must be a string, got number 2 (quote it if you meant the text)',
        'config: field "x-n" must be an integer, got string "one"',
    ]


def test_unknown_fields_are_found_with_re2_not_backtracking() -> None:
    evil = {"patternProperties": {"^(a+)+$": {}}, "additionalProperties": False}
    started = time.perf_counter()
    found = problems("a" * 40 + "b: 1", evil)  # Python's re: 2^40 steps
    assert time.perf_counter() - started < 2.0
    assert found == [f"config: unknown field \"{'a' * 40}b\" (known fields: names matching '^(a+)+$')"]
    with pytest.raises(InvalidModule, match="unevaluatedProperties with patternProperties"):
        load_schema("gen", json.dumps({**evil, "unevaluatedProperties": False}).encode())


# --- dawg docs follows $ref and allOf (findings 13.11) ------------------------------------------


def test_docs_follow_local_refs_and_all_of_as_validation_does() -> None:
    referenced = {
        "type": "object",
        "$defs": {"p": {"type": "object", "required": ["w"], "properties": {"w": {"type": "integer"}}}},
        "properties": {
            "panel": {"$ref": "#/$defs/p"},
            "more": {"type": "array", "items": {"$ref": "#/$defs/p"}},
        },
    }
    page = config_reference("g", referenced)
    assert "| `panel` | object | no |  |  |" in page and "| `panel.w` | integer | yes |  |  |" in page
    assert "| `more` | array of object | no |  |  |" in page and "| `more[].w` | integer | yes |" in page
    merged = {
        "allOf": [{"properties": {"a": {"type": "string"}}, "required": ["a"]}, {"$ref": "#/$defs/b"}],
        "$defs": {
            "b": {"properties": {"b": {"type": "integer", "description": "bee"}}},
            "n": {"type": "object", "properties": {"next": {"$ref": "#/$defs/n"}, "v": {"type": "string"}}},
        },
        "properties": {"kids": {"type": "array", "items": {"$ref": "#"}}, "node": {"$ref": "#/$defs/n"}},
        "additionalProperties": False,
    }
    load_schema("g", json.dumps(merged).encode())  # a schema DAWG accepts
    page = config_reference("g", merged)
    assert "| `a` | string | yes |  |  |" in page and "| `b` | integer | no |  | bee |" in page
    # Recursion is named, not unrolled to MAX_DEPTH.
    assert "| `kids` | array | no |  | the fields of the config |" in page
    assert "| `node.next` | object | no |  | the fields of `node` |" in page
    assert "kids[]" not in page and "node.next." not in page


def test_the_sync_pass_blames_the_generator_and_writes_nothing(
    example_wasm: dict[str, Path], tmp_path: Path
) -> None:
    from dawg_provider.render import Renderer
    from dawg_provider.sources.fetch import Fetcher
    from tests.grafana_standin import GrafanaStandIn
    from tests.k8s_standin import KubernetesStandIn
    from tests.test_sync import TOKEN, condition, outcomes, run

    hostile = {}
    for name in ("self", "exponential"):
        path = tmp_path / f"{name}.wasm"
        path.write_bytes(with_schema(example_wasm["simple"].read_bytes(), UNENDING[name]))
        hostile[name] = path
    grafana = GrafanaStandIn("12.0", tokens={TOKEN: (1, "Admin")}).start()
    k8s = KubernetesStandIn().start()
    try:
        k8s.add("apps", "good", {"generator": f"file://{example_wasm['simple']}", "config": "app_name: ok\n"})
        for name, path in hostile.items():
            k8s.add("apps", name, {"generator": f"file://{path}", "config": "title: x\n"})
        renderer = Renderer(Runtime(tmp_path / "cache"), Fetcher(tmp_path / "cache"))
        started = time.perf_counter()
        summary = run(k8s, grafana, renderer)
        assert time.perf_counter() - started < 60
        assert outcomes(summary) == {
            "apps/good": ("created", "Created"),
            "apps/self": ("failed", "GeneratorFailed"),  # was InternalError ("a DAWG bug")
            "apps/exponential": ("failed", "GeneratorFailed"),  # was: the pass never ended
        }
        message = condition(k8s.get("apps", "self"), "Synced")["message"]
        assert "$ref cycle that never moves into the config" in message and "Traceback" not in message
        stored = grafana.orgs[1].dashboards.values()
        titles = [d.json.get("title") for d in stored]
        assert [t for t in titles if not str(t).startswith("DAWG sync lease")] == ["ok"]  # no hostile one
    finally:
        k8s.stop()
        grafana.stop()
