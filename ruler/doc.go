// Package ruler generates and scores RULER's synthetic long-context tasks
// (Hsieh et al. 2024, "RULER: What's the Real Context Size of Your
// Long-Context Language Models?", arXiv 2404.06654; github.com/NVIDIA/RULER)
// for any tokenizer at any target length.
//
// What follows RULER, by its files:
//   - the task list and arguments: scripts/synthetic.yaml (all but qa_1 and
//     qa_2, which need the SQuAD and HotpotQA data sets);
//   - task templates, answer prefixes and tokens to generate:
//     scripts/data/synthetic/constants.py; the prompt is the chat template
//     around the task text followed by the answer prefix, as
//     scripts/data/prepare.py builds it;
//   - needle in a haystack: scripts/data/synthetic/niah.py
//     (generate_input_output: needles, noise/essay/needle haystacks,
//     insertion depths, queries, the singular wording);
//   - variable tracking: variable_tracking.py (generate_chains, the noise
//     haystack, the in-context example and randomize_icl);
//   - common-words extraction: common_words_extraction.py (get_example,
//     the worked example, the short-context settings below 4096);
//   - frequent-words extraction: freq_words_extraction.py (coded words,
//     the zeta distribution, "..." as noise, words 2 to 4 as the answer);
//   - the length: a sample's prompt plus its tokens to generate fill the
//     target length in the model's tokens, by a search over the haystack
//     size (the binary searches of the generator scripts);
//   - scoring: scripts/eval/evaluate.py (postprocess_pred) and
//     scripts/eval/synthetic/constants.py (string_match_all,
//     string_match_part).
//
// What differs is listed in docs/RULER.md: the haystack texts and word
// lists are small ones made for this package (data/README.md), samples
// come from Go's PCG generator seeded per sample (so they are not RULER's
// samples, but the same seed always gives the same ones), and each sample
// is fitted to its length on its own.
package ruler
