// {{name}}: a DAWG generator in Go (GOOS=wasip1, standard library only).
//
// stdin: the config (flat YAML `key: value` lines, or a flat JSON object): title, job.
// stdout: the dashboard JSON. stderr: one line naming a bad field; exit code 1.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
)

var known = []string{"title", "job"}
var valid = regexp.MustCompile(`^[A-Za-z0-9 ._:/-]{1,100}$`)

type obj = map[string]any

// dashboard is the part to edit: the panels your users get.
func dashboard(config map[string]string) obj {
	query := fmt.Sprintf(`sum(rate(http_requests_total{job="%s"}[$__rate_interval]))`, config["job"])
	return obj{
		"title":         config["title"],
		"schemaVersion": 39,
		"editable":      true,
		"time":          obj{"from": "now-6h", "to": "now"},
		"templating": obj{"list": []any{
			obj{"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus"},
		}},
		"panels": []any{
			obj{
				"id": 1, "type": "timeseries", "title": "Requests per second",
				"gridPos":     obj{"h": 8, "w": 24, "x": 0, "y": 0},
				"datasource":  obj{"type": "prometheus", "uid": "${datasource}"},
				"fieldConfig": obj{"defaults": obj{"unit": "reqps"}, "overrides": []any{}},
				"targets":     []any{obj{"refId": "A", "expr": query}},
			},
		},
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "config: "+format+"\n", args...)
	os.Exit(1)
}

func clean(s string) string {
	if i := strings.Index(s, " #"); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimSpace(s)
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		s = s[1 : len(s)-1]
	}
	return s
}

// parse reads flat `key: value` lines, or a flat JSON object of strings.
func parse(text string) map[string]string {
	text = strings.TrimSpace(text)
	items := strings.Split(text, "\n")
	if strings.HasPrefix(text, "{") {
		items = strings.Split(strings.TrimSuffix(strings.TrimPrefix(text, "{"), "}"), ",")
	}
	config := map[string]string{}
	for _, item := range items {
		item = strings.TrimSpace(item)
		if item == "" || item == "---" || strings.HasPrefix(item, "#") {
			continue
		}
		key, value, found := strings.Cut(item, ":")
		key = clean(key)
		if !found {
			fail("expected \"key: value\", got %q", item)
		}
		if key != "title" && key != "job" {
			fail("unknown field %q (known fields: %s)", key, strings.Join(known, ", "))
		}
		if _, seen := config[key]; seen {
			fail("field %q is given twice", key)
		}
		value = clean(value)
		if !valid.MatchString(value) {
			fail("field %q must be 1 to 100 letters, digits, spaces or ._:/-", key)
		}
		config[key] = value
	}
	for _, key := range known {
		if _, ok := config[key]; !ok {
			fail("field %q is required", key)
		}
	}
	return config
}

func main() {
	input, err := io.ReadAll(os.Stdin)
	if err != nil {
		fail("cannot read stdin: %v", err)
	}
	out, err := json.Marshal(dashboard(parse(string(input))))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	os.Stdout.Write(append(out, '\n'))
}
