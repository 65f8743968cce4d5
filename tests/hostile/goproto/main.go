// A generator in the Go prototype's ABI: `generate() -> ptr<<32|len`, config at /dawg/input.
// Used by the tests only; built with -buildmode=c-shared.
package main

import (
	"encoding/json"
	"os"
	"strings"
	"unsafe"
)

var out []byte

//go:wasmexport generate
func generate() uint64 {
	data, err := os.ReadFile("/dawg/input")
	config := strings.TrimSpace(string(data))
	switch {
	case err != nil:
		out = []byte(`e{"err":"cannot read /dawg/input"}`)
	case config == "":
		out = []byte(`e{"err":"config: app_name is required"}`)
	case config == "escape":
		if secret, err := os.ReadFile("/etc/hostname"); err == nil {
			out = []byte(`{"title":"LEAK ` + strings.TrimSpace(string(secret)) + `"}`)
		} else if werr := os.WriteFile("/dawg/input", []byte("pwned"), 0o600); werr == nil {
			out = []byte(`{"title":"LEAK wrote the input"}`)
		} else {
			out = []byte(`e{"err":"denied"}`)
		}
	default:
		body, _ := json.Marshal(map[string]any{"title": "prototype " + config, "panels": []any{}})
		out = body
	}
	return uint64(uintptr(unsafe.Pointer(&out[0])))<<32 | uint64(len(out))
}

func main() {}
