package main

// A small reader for flat configs: a YAML block mapping of scalars
// (`key: value` lines, comments, quoted strings) or a JSON object.
// Generators get the config text exactly as the user wrote it, and this one
// needs nothing nested, so a flat reader with precise errors beats a
// dependency (the build is stdlib-only and offline).

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

type kind int

const (
	kindNull kind = iota
	kindString
	kindNumber
	kindBool
)

func (k kind) String() string {
	return [...]string{"null", "string", "number", "boolean"}[k]
}

type scalar struct {
	kind kind
	text string
}

func isNumber(v string) bool {
	if _, err := strconv.ParseFloat(v, 64); err == nil {
		return true
	}
	if _, err := strconv.ParseInt(v, 0, 64); err == nil {
		return true
	}
	return false
}

func parseConfig(text string) (map[string]scalar, error) {
	trimmed := strings.TrimSpace(text)
	if strings.HasPrefix(trimmed, "{") {
		return parseJSON(trimmed)
	}
	out := map[string]scalar{}
	for i, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		n := i + 1
		body := strings.TrimRight(line, " \t")
		stripped := strings.TrimSpace(body)
		if stripped == "" || strings.HasPrefix(stripped, "#") || stripped == "---" || stripped == "..." {
			continue
		}
		if body[0] == ' ' || body[0] == '\t' {
			return nil, fmt.Errorf("line %d: nested values are not supported; use flat `key: value` lines", n)
		}
		key, rest, ok := splitKey(body)
		if !ok {
			return nil, fmt.Errorf("line %d: expected `key: value`, got %q", n, stripped)
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("line %d: field %q is given twice", n, key)
		}
		value, err := parseScalar(rest)
		if err != nil {
			return nil, fmt.Errorf("line %d: field %q: %v", n, key, err)
		}
		out[key] = value
	}
	return out, nil
}

func splitKey(line string) (string, string, bool) {
	if line[0] == '"' || line[0] == '\'' {
		end := strings.IndexByte(line[1:], line[0])
		if end < 0 || !strings.HasPrefix(line[end+2:], ":") {
			return "", "", false
		}
		return line[1 : end+1], line[end+3:], true
	}
	idx := strings.Index(line, ": ")
	if idx < 0 {
		if strings.HasSuffix(line, ":") {
			return strings.TrimSpace(line[:len(line)-1]), "", true
		}
		return "", "", false
	}
	return strings.TrimSpace(line[:idx]), line[idx+2:], true
}

func parseScalar(raw string) (scalar, error) {
	v := strings.TrimSpace(raw)
	switch {
	case v == "" || strings.HasPrefix(v, "#"):
		return scalar{kind: kindNull}, nil
	case v[0] == '"':
		end := closingQuote(v)
		if end < 0 {
			return scalar{}, fmt.Errorf("unterminated double-quoted string")
		}
		s, err := strconv.Unquote(v[:end+1])
		if err != nil {
			return scalar{}, fmt.Errorf("bad escape in double-quoted string")
		}
		if err := onlyComment(v[end+1:]); err != nil {
			return scalar{}, err
		}
		return scalar{kind: kindString, text: s}, nil
	case v[0] == '\'':
		var b strings.Builder
		i := 1
		for ; i < len(v); i++ {
			if v[i] == '\'' {
				if i+1 < len(v) && v[i+1] == '\'' {
					b.WriteByte('\'')
					i++
					continue
				}
				break
			}
			b.WriteByte(v[i])
		}
		if i >= len(v) {
			return scalar{}, fmt.Errorf("unterminated single-quoted string")
		}
		if err := onlyComment(v[i+1:]); err != nil {
			return scalar{}, err
		}
		return scalar{kind: kindString, text: b.String()}, nil
	case strings.ContainsRune("[{|>&*!", rune(v[0])):
		return scalar{}, fmt.Errorf("lists, maps, blocks, anchors and tags are not supported here; give a plain value")
	}
	if idx := strings.Index(v, " #"); idx >= 0 {
		v = strings.TrimSpace(v[:idx])
	}
	switch v {
	case "~", "null", "Null", "NULL":
		return scalar{kind: kindNull}, nil
	case "true", "True", "TRUE", "false", "False", "FALSE":
		return scalar{kind: kindBool, text: strings.ToLower(v)}, nil
	}
	if isNumber(v) {
		return scalar{kind: kindNumber, text: v}, nil
	}
	return scalar{kind: kindString, text: v}, nil
}

func closingQuote(v string) int {
	for i := 1; i < len(v); i++ {
		switch v[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return -1
}

func onlyComment(rest string) error {
	rest = strings.TrimSpace(rest)
	if rest != "" && !strings.HasPrefix(rest, "#") {
		return fmt.Errorf("unexpected text after the closing quote: %q", rest)
	}
	return nil
}

func parseJSON(text string) (map[string]scalar, error) {
	var raw map[string]any
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("invalid JSON: %v", err)
	}
	out := map[string]scalar{}
	for key, value := range raw {
		switch v := value.(type) {
		case nil:
			out[key] = scalar{kind: kindNull}
		case string:
			out[key] = scalar{kind: kindString, text: v}
		case bool:
			out[key] = scalar{kind: kindBool, text: strconv.FormatBool(v)}
		case json.Number:
			out[key] = scalar{kind: kindNumber, text: v.String()}
		default:
			return nil, fmt.Errorf("field %q: nested values are not supported; give a plain value", key)
		}
	}
	return out, nil
}

// fields checks the config against the known fields and returns their string values.
func fields(cfg map[string]scalar, required, optional []string) (map[string]string, error) {
	known := append(append([]string{}, required...), optional...)
	for key := range cfg {
		if !contains(known, key) {
			return nil, fmt.Errorf("unknown field %q (known fields: %s)", key, strings.Join(known, ", "))
		}
	}
	out := map[string]string{}
	for _, key := range known {
		v, ok := cfg[key]
		if !ok || v.kind == kindNull {
			if contains(required, key) {
				return nil, fmt.Errorf("field %q is required", key)
			}
			continue
		}
		if v.kind != kindString {
			return nil, fmt.Errorf("field %q must be a string, got %s %s (quote it if you meant the text)", key, v.kind, v.text)
		}
		out[key] = v.text
	}
	return out, nil
}

func contains(list []string, item string) bool {
	for _, x := range list {
		if x == item {
			return true
		}
	}
	return false
}
