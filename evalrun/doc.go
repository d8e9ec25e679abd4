// Package evalrun is the runner shape the evaluation suites share
// (LongBench in package longbench, RULER in package ruler): rows in, one
// JSONL file of predictions per task out, each row appended and synced on
// its own, a run folder's meta.json that a resumed run must match, resume
// after a stop or a kill, failed rows recorded and the run going on; and
// the engine's text generation as both suites' reference code does it
// (Hugging Face's tokenizer(prompt), greedy decoding, special tokens
// skipped in the output).
//
// A suite checks its inputs, then hands Run its task files and rows in the
// order to generate them; each row's Predict builds the prompt, calls the
// Generator and returns the suite's own record, written as one JSON line.
package evalrun
