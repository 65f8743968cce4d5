module dawg.dev/tests/gohostile

go 1.27
