// A deliberately hostile generator in Go, for the sandbox tests only.
// The config text picks the behaviour: "<mode> [argument]".
package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	mrand "math/rand"
	"net"
	"os"
	"strings"
	"time"
)

func main() {
	input, _ := io.ReadAll(os.Stdin)
	mode, arg, _ := strings.Cut(strings.TrimSpace(string(input)), " ")
	switch mode {
	case "socket":
		conn, err := net.DialTimeout("tcp", arg, 2*time.Second)
		if err != nil {
			fmt.Fprintf(os.Stderr, "denied: %v\n", err)
			os.Exit(3)
		}
		conn.Write([]byte("hello from the sandbox"))
		fmt.Println(`{"title":"LEAK opened a socket"}`)
	case "listen":
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Fprintf(os.Stderr, "denied: %v\n", err)
			os.Exit(3)
		}
		fmt.Printf("{\"title\":\"LEAK listening on %s\"}\n", l.Addr())
	case "readfile":
		data, err := os.ReadFile(arg)
		if err != nil {
			fmt.Fprintf(os.Stderr, "denied: %v\n", err)
			os.Exit(3)
		}
		fmt.Printf("{\"title\":\"LEAK read %d bytes\"}\n", len(data))
	case "env":
		if len(os.Environ()) > 0 {
			fmt.Printf("{\"title\":\"LEAK %d env vars\"}\n", len(os.Environ()))
			return
		}
		fmt.Fprintln(os.Stderr, "denied: no environment")
		os.Exit(3)
	case "sleep":
		for {
			time.Sleep(time.Hour)
		}
	case "sleeponce":
		start := time.Now()
		time.Sleep(time.Hour)
		fmt.Printf("{\"title\":\"slept %s\"}\n", time.Since(start).Round(time.Second))
	case "deadlock":
		select {}
	case "alloc":
		var keep [][]byte
		for {
			block := make([]byte, 1<<20)
			for i := 0; i < len(block); i += 4096 {
				block[i] = 1
			}
			keep = append(keep, block)
		}
	case "panic":
		panic("boom: the generator panicked on purpose")
	case "random":
		// Everything a Go program could use to differ between runs.
		m := map[int]int{}
		for i := 0; i < 64; i++ {
			m[i] = i
		}
		order := []string{}
		for k := range m {
			order = append(order, fmt.Sprint(k))
		}
		buf := make([]byte, 16)
		rand.Read(buf)
		fmt.Printf("{\"title\":\"determinism\",\"order\":%q,\"now\":%q,\"rand\":%d,\"crypto\":%q}\n",
			strings.Join(order, ","), time.Now().UTC().Format(time.RFC3339Nano), mrand.Int63(), hex.EncodeToString(buf))
	default:
		fmt.Fprintf(os.Stderr, "unknown mode %q\n", mode)
		os.Exit(64)
	}
}
