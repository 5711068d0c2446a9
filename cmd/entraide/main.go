// Command entraide runs and manages a node of the Entraide federation.
package main

import (
	"context"
	"os"

	"github.com/entraide/entraide/internal/cli"
)

func main() {
	os.Exit(cli.Main(context.Background(), os.Args[1:], cli.OSEnv()))
}
