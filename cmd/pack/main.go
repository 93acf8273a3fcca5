// Command pack: see package pack.
package main

import "github.com/ytrain/ytrain/pack"

func main() { pack.Main() }
