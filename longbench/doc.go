// Package longbench evaluates models on LongBench v1 (THUDM/LongBench) with
// the official protocol: the dataset's rows, the official prompt templates
// and maximum new tokens (embedded unchanged), middle truncation by tokens
// before the chat template, the official chat-template skip list, greedy
// decoding with samsum stopping at the first newline, and the official
// metrics (package longbench/metrics) with their post-processing and
// rounding.
//
// The package needs no inference engine: the runner drives any Generator,
// and prompt building any Tokenizer and ChatTemplate, so the commands can
// plug in the real engine while the tests use fakes.
package longbench
