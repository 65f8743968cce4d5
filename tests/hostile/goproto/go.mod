module dawg.dev/tests/goproto

go 1.27
