// Command train: see package train.
package main

import "github.com/ytrain/ytrain/train"

func main() { train.Main() }
