"""{{name}}: a DAWG generator in Python, compiled to a WebAssembly component (componentize-py).

Config: flat YAML `key: value` lines, or a flat JSON object: title, job. Returns the
dashboard JSON; raises `Err("config: ...")` naming a bad field.
"""

import json
import re

import wit_world
from componentize_py_types import Err

KNOWN = ("title", "job")
VALID = re.compile(r"^[A-Za-z0-9 ._:/-]{1,100}$")


def dashboard(config: dict) -> dict:
    """The part to edit: the panels your users get."""
    query = f'sum(rate(http_requests_total{{job="{config["job"]}"}}[$__rate_interval]))'
    return {
        "title": config["title"],
        "schemaVersion": 39,
        "editable": True,
        "time": {"from": "now-6h", "to": "now"},
        "templating": {
            "list": [
                {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus"}
            ]
        },
        "panels": [
            {
                "id": 1,
                "type": "timeseries",
                "title": "Requests per second",
                "gridPos": {"h": 8, "w": 24, "x": 0, "y": 0},
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
                "fieldConfig": {"defaults": {"unit": "reqps"}, "overrides": []},
                "targets": [{"refId": "A", "expr": query}],
            }
        ],
    }


def clean(text: str) -> str:
    text = text.split(" #", 1)[0].strip()
    if len(text) >= 2 and text[0] in "\"'" and text[-1] == text[0]:
        text = text[1:-1]
    return text


def parse(text: str) -> dict:
    text = text.strip()
    items = text.split("\n")
    if text.startswith("{") and text.endswith("}"):
        items = text[1:-1].split(",")
    config = {}
    for item in items:
        item = item.strip()
        if not item or item == "---" or item.startswith("#"):
            continue
        key, colon, value = item.partition(":")
        key = clean(key)
        if not colon:
            raise Err(f'config: expected "key: value", got {item!r}')
        if key not in KNOWN:
            raise Err(f'config: unknown field "{key}" (known fields: {", ".join(KNOWN)})')
        if key in config:
            raise Err(f'config: field "{key}" is given twice')
        value = clean(value)
        if not VALID.fullmatch(value):
            raise Err(f'config: field "{key}" must be 1 to 100 letters, digits, spaces or ._:/-')
        config[key] = value
    for key in KNOWN:
        if key not in config:
            raise Err(f'config: field "{key}" is required')
    return config


class WitWorld(wit_world.WitWorld):
    def generate(self, config: str) -> str:
        return json.dumps(dashboard(parse(config)), sort_keys=True)
