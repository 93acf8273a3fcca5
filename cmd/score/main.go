// Command score: see package score.
package main

import "github.com/ytrain/ytrain/score"

func main() { score.Main() }
