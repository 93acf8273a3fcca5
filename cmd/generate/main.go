// Command generate: see package generate.
package main

import "github.com/ytrain/ytrain/generate"

func main() { generate.Main() }
