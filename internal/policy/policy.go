// Package policy is the gateway endpoint policy as the console edits it:
// strict parsing with an error at each field, bounds, the canonical form and
// its fingerprint, the semantic diff between two policies, what a change
// means in words, and lint warnings.
package policy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"sort"

	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// Bounds on what the console sends. The API documents none; these keep a
// policy readable and well under the 64 KiB body limit.
const (
	MaxBodyBytes     = 64 << 10
	MaxStatements    = 50
	MaxEntries       = 100 // Action or Resource entries per statement
	MaxStringLength  = 512
	MaxReasonLength  = 1000
	MaxConditionSize = 4 << 10
)

// Effects a statement may have.
const (
	Allow = "Allow"
	Deny  = "Deny"
)

// Policy is a gateway endpoint's policy_statement list.
type Policy []vpcep.PolicyStatement

// Canonical returns p in canonical form: Action and Resource sorted without
// duplicates, Condition re-encoded with sorted keys and no whitespace, and
// statements sorted. Two policies that allow and deny the same things have
// the same canonical form, whatever the order of their entries.
func Canonical(p Policy) Policy {
	out := make(Policy, 0, len(p))
	for _, s := range p {
		c := vpcep.PolicyStatement{
			Effect:   s.Effect,
			Action:   sortedSet(s.Action),
			Resource: sortedSet(s.Resource),
			Sid:      s.Sid,
		}
		if len(bytes.TrimSpace(s.Condition)) > 0 && string(bytes.TrimSpace(s.Condition)) != "null" {
			c.Condition = canonicalJSON(s.Condition)
		}
		out = append(out, c)
	}
	sort.SliceStable(out, func(i, j int) bool {
		return string(mustJSON(out[i])) < string(mustJSON(out[j]))
	})
	return out
}

// CanonicalJSON is the canonical form as compact JSON: what fingerprints,
// comparisons and the audit log use.
func CanonicalJSON(p Policy) string {
	c := Canonical(p)
	if c == nil {
		c = Policy{}
	}
	return string(mustJSON(c))
}

// JSON is p as compact JSON in the order given: how the audit log keeps a
// policy, so a rollback restores it exactly as it was.
func JSON(p Policy) string {
	if p == nil {
		p = Policy{}
	}
	return string(mustJSON(p))
}

// Fingerprint identifies a policy's canonical form: the editor carries the
// fingerprint of the policy it started from, to detect a change made since.
func Fingerprint(p Policy) string {
	sum := sha256.Sum256([]byte(CanonicalJSON(p)))
	return hex.EncodeToString(sum[:])
}

// Equal reports whether a and b are the same policy up to ordering.
func Equal(a, b Policy) bool { return CanonicalJSON(a) == CanonicalJSON(b) }

// Pretty is p as indented JSON, in the order given (not canonical), as the
// raw editor shows it. A missing Action or Resource list shows as [] (as
// the structured view has it: empty), never as null.
func Pretty(p Policy) string {
	shown := make(Policy, len(p))
	for i, s := range p {
		if s.Action == nil {
			s.Action = []string{}
		}
		if s.Resource == nil {
			s.Resource = []string{}
		}
		shown[i] = s
	}
	p = shown
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	_ = enc.Encode(document{PolicyStatement: p})
	return buf.String()
}

// document is the raw editor's top-level object.
type document struct {
	PolicyStatement Policy `json:"policy_statement"`
}

func sortedSet(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	out = slices.Compact(out)
	if out == nil {
		out = []string{}
	}
	return out
}

// canonicalJSON re-encodes raw with sorted object keys and no whitespace,
// keeping numbers as written.
func canonicalJSON(raw json.RawMessage) json.RawMessage {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return raw
	}
	return mustJSON(v)
}

func mustJSON(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err) // only plain data is encoded here
	}
	return bytes.TrimRight(buf.Bytes(), "\n")
}

// FromJSON reads a policy stored as JSON (as the audit log keeps them),
// without validating it: a stored policy may be empty. "null", the mark of a
// policy that could not be read, is an error.
func FromJSON(raw []byte) (Policy, error) {
	var p Policy
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, err
	}
	if p == nil {
		return nil, errUnknownPolicy
	}
	return p, nil
}

var errUnknownPolicy = errors.New("policy: not known (null)")
