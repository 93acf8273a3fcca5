// Command tokenize: see package tokenize.
package main

import "github.com/ytrain/ytrain/tokenize"

func main() { tokenize.Main() }
