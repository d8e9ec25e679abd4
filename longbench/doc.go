// Package longbench evaluates models on LongBench v1 (THUDM/LongBench) with
// the official protocol: the dataset's rows, the official prompt templates
// and maximum new tokens (embedded unchanged), middle truncation by tokens
// before the chat template, the official chat-template skip list, greedy
// decoding with samsum stopping at the first newline, and the official
// metrics (package longbench/metrics) with their post-processing and
// rounding.
//
// The runner drives any Generator, and prompt building any Tokenizer and
// ChatTemplate, so the tests can use fakes; ModelGenerator is the one on
// the inference engine, with pred.py's decoding rules (one BOS, greedy,
// samsum's newline stop and min_length).
package longbench
