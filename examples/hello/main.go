// Command hello prints a greeting and the build information gobuild embeds.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
)

// Set at link time by gobuild (-X main.version=… and friends).
var (
	version   = "dev"
	commit    = "unknown"
	date      = "unknown"
	treeState = "unknown"
	goVersion = ""
)

// Greeting returns the message for name.
func Greeting(name string) string {
	if name == "" {
		name = "world"
	}
	return "hello, " + name
}

func main() {
	showVersion := flag.Bool("version", false, "print build information and exit")
	flag.Parse()
	if *showVersion {
		gv := goVersion
		if gv == "" {
			gv = runtime.Version()
		}
		fmt.Printf("version: %s\ncommit: %s\ndate: %s\ntreeState: %s\ngoVersion: %s\n",
			version, commit, date, treeState, gv)
		return
	}
	fmt.Println(Greeting(flag.Arg(0)))
	os.Exit(0)
}
