// Command evaluate: see package evaluate.
package main

import "github.com/ytrain/ytrain/evaluate"

func main() { evaluate.Main() }
