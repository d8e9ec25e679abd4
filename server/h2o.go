package server

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/sdtp/sdtp/h2o"
)

// setH2O chooses the job's H2O KV budget: the request's
// "sdtp.h2o_budget" ("off", a fraction such as 0.4 or "40%", or a token
// count such as 1024) with "sdtp.h2o_recent" (a fraction of the budget or
// a count; default 0.5), else the server's default; "sdtp.h2o_recent"
// alone changes the recent window of the server's default budget.
func (s *Server) setH2O(j *job, p *sdtpParams) error {
	j.h2o = s.o.DefaultH2O
	if p == nil {
		return nil
	}
	keep, err := amountText(p.H2OBudget, "sdtp.h2o_budget")
	if err != nil {
		return err
	}
	recent, err := amountText(p.H2ORecent, "sdtp.h2o_recent")
	if err != nil {
		return err
	}
	switch {
	case keep == "" && recent == "":
		return nil
	case keep == "off" && recent != "":
		return badRequest("sdtp.h2o_recent", "sdtp.h2o_recent with sdtp.h2o_budget \"off\"")
	case keep == "off":
		j.h2o = nil
		return nil
	case keep == "" && s.o.DefaultH2O == nil:
		return badRequest("sdtp.h2o_recent", "sdtp.h2o_recent needs sdtp.h2o_budget (this server keeps no H2O budget by default)")
	case keep == "":
		keep = s.o.DefaultH2O.Keep.String()
	}
	b, err := h2o.Parse(keep, recent)
	if err != nil {
		param := "sdtp.h2o_budget"
		if errors.Is(err, h2o.ErrRecent) {
			param = "sdtp.h2o_recent"
		}
		return badRequest(param, "%v", err)
	}
	j.h2o = &b
	return nil
}

// amountText returns a budget field as the text h2o.ParseAmount reads: a
// JSON number as written (so 1024 is a count and 1.0 a fraction) or a
// string; "" when absent or null.
func amountText(raw json.RawMessage, param string) (string, error) {
	t := strings.TrimSpace(string(raw))
	if t == "" || t == "null" {
		return "", nil
	}
	if t[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", badRequest(param, "%s: %v", param, err)
		}
		return strings.TrimSpace(s), nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return "", badRequest(param, "%s must be a number or a string such as \"40%%\" or \"off\"", param)
	}
	return n.String(), nil
}

// h2oName describes a budget for usage and the log ("" for none).
func h2oName(b *h2o.Budget) string {
	if b == nil {
		return ""
	}
	return b.String()
}
