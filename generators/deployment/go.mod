module dawg.dev/generators/deployment

go 1.27
