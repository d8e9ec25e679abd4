// Package runmeta is the meta block that heads every result file (bench's
// bench.json, LongBench's meta.json, the saliency and 'train eval' files):
// the program, its version and git revision, the command line and when
// the run started. Each result type embeds Meta and adds its own fields.
//
// The blocks once spelled these fields three ways ("revision" and
// "git_revision", "command" and "command_line", "start" and "started");
// a result type's UnmarshalJSON decodes through Unmarshal so files written
// with the old names still read.
package runmeta

import (
	"encoding/json"
	"time"

	"github.com/sdtp/sdtp/internal/version"
)

// Meta is the common part of a result's meta block.
type Meta struct {
	Program  string    `json:"program"`
	Version  string    `json:"version"`
	Revision string    `json:"git_revision"`
	Command  []string  `json:"command_line"`
	Start    time.Time `json:"start"`
}

// New is the meta block of a run of this program with the command line
// argv, starting now.
func New(argv []string) Meta {
	return Meta{Program: "sdtp", Version: version.Version, Revision: version.Revision(), Command: argv, Start: time.Now().UTC()}
}

// ReadLegacy fills the fields still empty after decoding data (a JSON
// object holding the block) from their old spellings: "revision",
// "command" and "started". A result type's UnmarshalJSON decodes itself
// (through a type without the method), then calls it.
func (m *Meta) ReadLegacy(data []byte) error {
	var old struct {
		Revision *string    `json:"revision"`
		Command  []string   `json:"command"`
		Started  *time.Time `json:"started"`
	}
	if err := json.Unmarshal(data, &old); err != nil {
		return err
	}
	if m.Revision == "" && old.Revision != nil {
		m.Revision = *old.Revision
	}
	if m.Command == nil {
		m.Command = old.Command
	}
	if m.Start.IsZero() && old.Started != nil {
		m.Start = *old.Started
	}
	return nil
}

// Unmarshal decodes a result's meta block: data into plain (the result
// type converted to a type without its UnmarshalJSON method), then the old
// spellings of the fields of m, its embedded Meta (ReadLegacy).
func Unmarshal(data []byte, plain any, m *Meta) error {
	if err := json.Unmarshal(data, plain); err != nil {
		return err
	}
	return m.ReadLegacy(data)
}
