// Package formats is the one contract between ytrain's tools: the record
// kinds they exchange and the two file encodings of a record stream, an
// Arrow IPC stream and JSON Lines. docs/formats.md at the repository root
// documents the same record kinds for people who write their own producers
// or consumers; docs/glossary.md says which word means what.
//
// Every reader detects the encoding from the first bytes of its input, so
// tools can be chained in either encoding. Writers buffer at most one Arrow
// record batch, so memory stays bounded by the batch, not by the input.
// A tool writes an output file through WriteFile (WriteRecords for
// records): whole, or not at all.
//
// Record kinds (PeekKind tells them apart; an Arrow schema names its own in
// its "ytrain.kind" metadata):
//
//   - Token: one tokenized document (tokenize → pack, score, train, rank).
//   - Packed: several documents packed into one fixed-length row
//     (pack → score, train).
//   - Score: one document's per-target loss and entropy curves under a
//     model (score → rank, evaluate, train --weighting nlirg-auto).
package formats
