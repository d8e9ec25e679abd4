// Drives an sdtp server with the official openai npm package and prints
// what it got as one JSON object; server/openai_npm_test.go checks it
// against the engine. Environment: BASE_URL (http://host:port), API_KEY,
// MODEL, PROMPT, PROMPT_IDS (JSON list), CHAT (a user message).
import OpenAI from "openai";

const env = process.env;
const client = new OpenAI({ baseURL: env.BASE_URL + "/v1", apiKey: env.API_KEY, maxRetries: 0, timeout: 60000 });
const model = env.MODEL;
const promptIDs = JSON.parse(env.PROMPT_IDS);
const out = {};

function check(cond, what) {
  if (!cond) throw new Error("check failed: " + what);
}

// Models.
const models = [];
for await (const m of client.models.list()) models.push(m.id);
out.models = models;

// Completions: text prompt, greedy.
const c = await client.completions.create({ model, prompt: env.PROMPT, max_tokens: 12, temperature: 0 });
check(c.object === "text_completion" && c.choices.length === 1, "completion shape");
out.completion = { text: c.choices[0].text, finish_reason: c.choices[0].finish_reason, usage: c.usage };

// Completions, streamed: the concatenated text.
let streamed = "";
let streamFinish = null;
const cs = await client.completions.create({ model, prompt: env.PROMPT, max_tokens: 12, temperature: 0, stream: true });
for await (const chunk of cs) {
  for (const ch of chunk.choices) {
    streamed += ch.text;
    if (ch.finish_reason) streamFinish = ch.finish_reason;
  }
}
out.completion_stream = { text: streamed, finish_reason: streamFinish };

// Echo + logprobs on token ids: what lm-eval's loglikelihood requests read.
const e = await client.completions.create({ model, prompt: [promptIDs], max_tokens: 1, temperature: 0, echo: true, logprobs: 1, seed: 1234 });
const lp = e.choices[0].logprobs;
check(lp.tokens.length === promptIDs.length + 1, "echo covers the prompt and one new token");
check(lp.token_logprobs[0] === null && lp.top_logprobs[0] === null, "first prompt token has no logprob");
out.echo = { text: e.choices[0].text, tokens: lp.tokens, token_logprobs: lp.token_logprobs, top_logprobs: lp.top_logprobs, text_offset: lp.text_offset };

// Chat, then the same streamed.
const messages = [{ role: "user", content: env.CHAT }];
const chat = await client.chat.completions.create({ model, messages, max_tokens: 10, temperature: 0 });
check(chat.object === "chat.completion" && chat.choices[0].message.role === "assistant", "chat shape");
out.chat = { content: chat.choices[0].message.content, finish_reason: chat.choices[0].finish_reason };
let chatStreamed = "";
let roleSeen = false;
const chs = await client.chat.completions.create({ model, messages, max_tokens: 10, temperature: 0, stream: true, stream_options: { include_usage: true } });
let chatUsage = null;
for await (const chunk of chs) {
  if (chunk.usage) chatUsage = chunk.usage;
  for (const ch of chunk.choices) {
    if (ch.delta.role === "assistant") roleSeen = true;
    if (ch.delta.content) chatStreamed += ch.delta.content;
  }
}
check(roleSeen, "the stream names the assistant role");
out.chat_stream = { content: chatStreamed, usage: chatUsage };

// Errors come back as the SDK's typed errors.
async function errorOf(fn) {
  try {
    await fn();
    return null;
  } catch (err) {
    return { name: err.constructor.name, status: err.status, type: err.type ?? null, param: err.param ?? null, code: err.code ?? null };
  }
}
const wrongKey = new OpenAI({ baseURL: env.BASE_URL + "/v1", apiKey: "wrong", maxRetries: 0 });
out.errors = {
  wrong_key: await errorOf(() => wrongKey.completions.create({ model, prompt: "x", max_tokens: 1 })),
  unknown_model: await errorOf(() => client.completions.create({ model: "gpt-unknown", prompt: "x", max_tokens: 1 })),
  bad_param: await errorOf(() => client.completions.create({ model, prompt: "x", max_tokens: 1, temperature: 9 })),
};

console.log(JSON.stringify(out));
