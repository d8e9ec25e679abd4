package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sdtp/sdtp/evalrun"
)

// childEnv carries the command line a child test process runs.
const childEnv = "SDTP_CLI_CHILD"

// killPartWay runs the command line argv in a child process
// (TestCLIChild) and kills it with SIGKILL once the file watch holds at
// least lines lines, as a user's kill -9 of a run would.
func killPartWay(t *testing.T, argv []string, watch string, lines int) {
	t.Helper()
	args, _ := json.Marshal(argv)
	cmd := exec.Command(os.Args[0], "-test.run=^TestCLIChild$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(args))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(60 * time.Second); ; {
		if b, _ := os.ReadFile(watch); strings.Count(string(b), "\n") >= lines {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the child run wrote no rows in 60s")
		}
		time.Sleep(2 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
}

// killAndResume kills a run of argv part-way (killPartWay), runs it again
// to the end and returns the rows the second run generated and found
// done.
func killAndResume(t *testing.T, argv []string, watch string, lines int) (generated, resumed int) {
	t.Helper()
	killPartWay(t, argv, watch, lines)
	code, out, errOut := run(t, argv...)
	if _, err := fmt.Sscanf(out, "%d rows generated, %d already done", &generated, &resumed); code != 0 || err != nil {
		t.Fatalf("resume: exit %d: %s %s", code, out, errOut)
	}
	return generated, resumed
}

// wholeRows reads a task's prediction file in the run folder dir with read
// and fails the test unless it holds exactly n rows and no torn last line
// (what a killed and resumed run must end with).
func wholeRows[T any](t *testing.T, dir, task string, n int, read func(string) (evalrun.Contents[T], error)) []T {
	t.Helper()
	c, err := read(filepath.Join(dir, task+".jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Rows) != n || c.Torn != 0 {
		t.Fatalf("%s/%s: %d rows (torn %d), want %d", dir, task, len(c.Rows), c.Torn, n)
	}
	return c.Rows
}

// TestCLIChild runs the command line that killPartWay gives it, in a
// process of its own, so that it can be killed.
func TestCLIChild(t *testing.T) {
	args := os.Getenv(childEnv)
	if args == "" {
		t.Skip("only run as the child of a test that kills a run part-way")
	}
	var argv []string
	if err := json.Unmarshal([]byte(args), &argv); err != nil {
		t.Fatal(err)
	}
	runMain(context.Background(), &env{stdin: strings.NewReader(""), stdout: os.Stdout, stderr: os.Stderr, argv: argv}, argv)
}
