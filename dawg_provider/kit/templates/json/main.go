// {{name}}: a DAWG generator made by `dawg new json` from a hand-made dashboard.
//
// dashboard.json is that dashboard with each variable's value replaced by %{name};
// variables.json holds the variables and their defaults (the values it was made from).
// stdin: the config (flat YAML `key: value` lines, or a flat JSON object), any of the
// variables. stdout: the dashboard, with each %{name} replaced by the config's value.
package main

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

//go:embed dashboard.json
var dashboard string

//go:embed variables.json
var variables []byte

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

func main() {
	defaults := map[string]string{}
	if err := json.Unmarshal(variables, &defaults); err != nil {
		fmt.Fprintln(os.Stderr, "variables.json:", err)
		os.Exit(2)
	}
	names := make([]string, 0, len(defaults))
	for name := range defaults {
		names = append(names, name)
	}
	sort.Strings(names)
	input, err := io.ReadAll(os.Stdin)
	if err != nil {
		fail("cannot read stdin: %v", err)
	}
	text := strings.TrimSpace(string(input))
	items := strings.Split(text, "\n")
	if strings.HasPrefix(text, "{") {
		items = strings.Split(strings.TrimSuffix(strings.TrimPrefix(text, "{"), "}"), ",")
	}
	values := map[string]string{}
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
		if _, known := defaults[key]; !known {
			fail("unknown field %q (known fields: %s)", key, strings.Join(names, ", "))
		}
		if _, seen := values[key]; seen {
			fail("field %q is given twice", key)
		}
		values[key] = clean(value)
	}
	pairs := []string{}
	for _, name := range names {
		value, given := values[name]
		if !given {
			value = defaults[name]
		}
		quoted, _ := json.Marshal(value)
		pairs = append(pairs, "%{"+name+"}", string(quoted[1:len(quoted)-1]))
	}
	os.Stdout.WriteString(strings.NewReplacer(pairs...).Replace(dashboard))
}
