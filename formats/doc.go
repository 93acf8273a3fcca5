// Package formats is the one contract between ytrain's tools: the record
// kinds they exchange and their two encodings, an Arrow IPC stream and JSON
// Lines. docs/formats.md at the repository root documents the same kinds for
// people who write their own producers or consumers.
//
// Every reader detects the encoding from the first bytes of its input, so
// tools can be chained in either encoding. Writers buffer at most one Arrow
// record batch, so memory stays bounded by the batch, not by the input.
//
// Record kinds:
//
//   - Token: one tokenized document (tokenize → pack, score, train).
//   - Packed: several documents packed into one fixed-length row
//     (pack → score, train).
package formats
