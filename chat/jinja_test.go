package chat

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// jinjaScript renders templates the way transformers' apply_chat_template
// does: a sandboxed Jinja2 environment with trim_blocks, lstrip_blocks and
// a raise_exception global.
const jinjaScript = `
import json, sys
import jinja2, jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment
def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)
env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
env.globals["raise_exception"] = raise_exception
jobs = json.load(open(sys.argv[1]))
out = []
for job in jobs:
    try:
        t = env.from_string(job["template"])
        text = t.render(messages=job["messages"], add_generation_prompt=job["gen"],
                        bos_token=job["bos"], eos_token=job["eos"])
        out.append({"text": text})
    except Exception as e:
        out.append({"error": type(e).__name__ + ": " + str(e)})
json.dump(out, open(sys.argv[2], "w"))
`

type jinjaJob struct {
	Template string              `json:"template"`
	Messages []map[string]string `json:"messages"`
	Gen      bool                `json:"gen"`
	BOS      string              `json:"bos"`
	EOS      string              `json:"eos"`
}

// TestAgainstJinja renders random conversations with every recognised
// template both natively and with Python's Jinja2 (when python3 with
// jinja2 is installed) and requires identical text, or an error from both.
func TestAgainstJinja(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not found; skipping the Jinja2 comparison")
	}
	if err := exec.Command(py, "-c", "import jinja2").Run(); err != nil {
		t.Skip("python3 has no jinja2; skipping the Jinja2 comparison")
	}
	sources := map[string]string{
		"qwen2": qwen2Template, "qwen2.5": qwen25Template, "chatml": chatMLTemplate,
		"llama2": llama2Template, "mistral": mistralTemplate, "mistral-v0.1": mistralV01Template,
		"mixtral": mixtralTemplate, "llama3": llama3Template, "llama3-first": llama3FirstTemplate,
	}
	roles := []string{"user", "assistant", "user", "assistant", "system", "tool", "other"}
	contents := []string{"", "hi", "  padded  ", "\nline one\nline two\n", "\x1c\u00a0x\u3000", "{{ not jinja }}", "<s>[INST]", "多语言 🦙"}
	r := rand.New(rand.NewPCG(5, 6))
	var jobs []jinjaJob
	var tmpls []Template
	for name, src := range sources {
		mk, ok := known[canonical(src)]
		if !ok {
			t.Fatalf("template %s is not recognised by its own canonical form", name)
		}
		for range 60 {
			n := r.IntN(6)
			dicts := []map[string]string{}
			for i := range n {
				role := roles[r.IntN(len(roles))]
				if r.IntN(3) > 0 { // mostly well-formed conversations
					role = []string{"user", "assistant"}[i%2]
					if i == 0 && r.IntN(3) == 0 {
						role = "system"
					}
				}
				dicts = append(dicts, map[string]string{"role": role, "content": contents[r.IntN(len(contents))]})
			}
			bos, eos := "<s>", "</s>"
			if strings.HasPrefix(name, "llama3") {
				bos, eos = "<|begin_of_text|>", "<|eot_id|>"
			}
			gen := r.IntN(2) == 0
			jobs = append(jobs, jinjaJob{Template: src, Messages: dicts, Gen: gen, BOS: bos, EOS: eos})
			tmpls = append(tmpls, mk(bos, eos))
		}
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "jobs.json"), filepath.Join(dir, "out.json")
	data, err := json.Marshal(jobs)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, data, 0o644); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "render.py")
	if err := os.WriteFile(script, []byte(jinjaScript), 0o644); err != nil {
		t.Fatal(err)
	}
	if msg, err := exec.Command(py, script, in, out).CombinedOutput(); err != nil {
		t.Fatalf("python3: %v\n%s", err, msg)
	}
	data, err = os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var results []struct {
		Text  *string `json:"text"`
		Error string  `json:"error"`
	}
	if err := json.Unmarshal(data, &results); err != nil {
		t.Fatal(err)
	}
	for i, job := range jobs {
		var msgs []Message
		for _, d := range job.Messages {
			msgs = append(msgs, Message{Role: d["role"], Content: d["content"]})
		}
		got, err := tmpls[i].Render(msgs, job.Gen)
		want := results[i]
		switch {
		case want.Text == nil && err == nil:
			t.Errorf("%s %q gen=%v: Jinja raised %s, native rendered %q", tmpls[i].Name(), msgs, job.Gen, want.Error, got)
		case want.Text != nil && err != nil:
			t.Errorf("%s %q gen=%v: native error %v, Jinja rendered %q", tmpls[i].Name(), msgs, job.Gen, err, *want.Text)
		case want.Text != nil && got != *want.Text:
			t.Errorf("%s %q gen=%v:\n native %q\n jinja  %q", tmpls[i].Name(), msgs, job.Gen, got, *want.Text)
		case want.Text == nil && strings.Contains(want.Error, "TemplateError") && !strings.Contains(want.Error, err.Error()):
			t.Errorf("%s %q: native error %q, Jinja %q", tmpls[i].Name(), msgs, err, want.Error)
		}
	}
}
