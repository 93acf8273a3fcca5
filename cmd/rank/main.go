// Command rank: see package rank.
package main

import "github.com/ytrain/ytrain/rank"

func main() { rank.Main() }
