package policy

import (
	"slices"
	"strings"
	"testing"
)

func TestCheckJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		path     string // "" when accepted
		msg      string
	}{
		{"plain", `{"a": [1, 2.5e3, "x", true, null, {}], "b": {"c": "\ud83d\ude00 \u00e9"}}`, "", ""},
		{"big number", `{"n": 12345678901234567890123}`, "", ""},
		{"duplicate at top", `{"a": 1, "a": 2}`, "a", `duplicate key "a"`},
		{"duplicate in Condition", `{"policy_statement": [{"Condition": {"StringEquals": {"obs:prefix": ["a"], "obs:prefix": ["b"]}}}]}`,
			`policy_statement[0].Condition.StringEquals["obs:prefix"]`, `duplicate key "obs:prefix"`},
		{"invalid UTF-8", "{\"a\": \"\xff\"}", "a", "invalid UTF-8"},
		{"invalid UTF-8 in a key", "{\"\xc3\": 1}", "", "invalid UTF-8"},
		{"lone high surrogate", `{"a": "\ud800"}`, "a", `lone surrogate \ud800`},
		{"high surrogate then text", `{"a": "\ud800xxxxxx"}`, "a", `lone surrogate`},
		{"lone low surrogate", `{"a": ["\udc00"]}`, "a[0]", `lone surrogate \udc00`},
		{"NUL", `{"a": "x\u0000"}`, "a", "NUL"},
		{"raw control", "{\"a\": \"x\x01\"}", "a", "control character"},
		{"trailing object", `{"a": 1} {"b": 2}`, "", "unexpected data after the JSON object at byte 9"},
		{"trailing garbage", `{"a": 1}x`, "", "unexpected data after the JSON object at byte 8"},
		{"empty", `   `, "", "empty"},
		{"leading zero", `{"a": 01}`, "", "expected ',' or '}'"},
		{"unterminated", `{"a": "x`, "a", "ends inside a string"},
		{"bad escape", `{"a": "\x"}`, "a", "invalid escape"},
		{"deep", strings.Repeat("[", 40) + strings.Repeat("]", 40), strings.Repeat("[0]", maxJSONDepth+1), "nested"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckJSON([]byte(tt.in), "")
			if tt.msg == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			je, ok := err.(*JSONError)
			if !ok {
				t.Fatalf("got %v, want a *JSONError", err)
			}
			if je.Path != tt.path || !strings.Contains(je.Error(), tt.msg) {
				t.Errorf("got path %q, %q; want path %q, %q", je.Path, je.Error(), tt.path, tt.msg)
			}
		})
	}
}

func TestParseDocumentIsStrict(t *testing.T) {
	t.Parallel()
	const stmt = `{"Effect": "Allow", "Action": ["obs:*"], "Resource": ["*"]}`
	tests := []struct{ name, in, want string }{
		{"duplicate statement key", `{"policy_statement": [{"Effect": "Deny", "Effect": "Allow", "Action": ["a"], "Resource": ["*"]}]}`, `duplicate key "Effect"`},
		{"duplicate document key", `{"policy_statement": [], "policy_statement": [` + stmt + `]}`, `duplicate key "policy_statement"`},
		{"duplicate Condition key", `{"policy_statement": [{"Effect": "Allow", "Action": ["a"], "Resource": ["*"], "Condition": {"StringEquals": {"k": ["1"]}, "StringEquals": {"k": ["2"]}}}]}`, `duplicate key "StringEquals"`},
		{"lone surrogate", `{"policy_statement": [{"Effect": "Allow", "Action": ["obs:\ud800"], "Resource": ["*"]}]}`, "lone surrogate"},
		{"invalid UTF-8", "{\"policy_statement\": [{\"Effect\": \"Allow\", \"Action\": [\"obs:\xff\"], \"Resource\": [\"*\"]}]}", "invalid UTF-8"},
		{"trailing data", `{"policy_statement": [` + stmt + `]} []`, "The JSON has an error at line 1, column 85: unexpected data after the JSON object"},
		{"control in Action", `{"policy_statement": [{"Effect": "Allow", "Action": ["obs:\u0007"], "Resource": ["*"]}]}`, "control characters"},
		{"control in Condition", `{"policy_statement": [{"Effect": "Allow", "Action": ["a"], "Resource": ["*"], "Condition": {"StringEquals": {"k": ["\u001b[31m"]}}}]}`, "control characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errs := ParseDocument([]byte(tt.in), "policy_json")
			if len(errs) == 0 || !strings.Contains(errs.Error(), tt.want) {
				t.Errorf("got %v, want %q", errs, tt.want)
			}
		})
	}
}

func TestConditionNumbersStayExact(t *testing.T) {
	t.Parallel()
	in := `{"policy_statement": [{"Effect": "Allow", "Action": ["obs:*"], "Resource": ["*"], "Condition": {"NumericLessThan": {"obs:max-keys": 12345678901234567890123, "x": 1.10}}}]}`
	p, errs := ParseDocument([]byte(in), "policy_json")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	for _, out := range []string{CanonicalJSON(p), JSON(p), Pretty(p)} {
		if !strings.Contains(out, "12345678901234567890123") || !strings.Contains(out, "1.10") {
			t.Errorf("number changed: %s", out)
		}
	}
}

func TestLintWarnsOfInvisibleCharacters(t *testing.T) {
	t.Parallel()
	p := Policy{{Effect: Allow, Action: []string{"obs:object:GetObject"}, Resource: []string{"obs:*:*:object:logs/\u202egpj.exe"}, Sid: "a\u200bb"}}
	p = append(p, p[0])
	p[1].Sid, p[1].Resource, p[1].Condition = "ok", []string{"obs:*:*:object:x"}, []byte(`{"StringEquals": {"obs:prefix": ["\u2066x"]}}`)
	var got []string
	for _, w := range Lint(p) {
		if w.Code == "invisible_characters" {
			got = append(got, w.Message)
		}
	}
	if len(got) != 3 || !strings.Contains(got[0], "U+200B") || !strings.Contains(got[1], "⟨U+202E⟩") || !strings.Contains(got[2], "Condition") {
		t.Errorf("warnings: %q", got)
	}
	if s := ShowInvisible("abc\u202edef\xff\uFFFD\n"); s != "abc⟨U+202E⟩def⟨0xFF⟩\uFFFD\n" {
		t.Errorf("ShowInvisible = %q", s)
	}
}

// FuzzParseDocument: whatever the parser accepts is valid JSON of a valid
// policy; its canonical form parses back to itself; and a reordered copy
// (statements and entries reversed) has the same fingerprint.
func FuzzParseDocument(f *testing.F) {
	for _, seed := range []string{
		`{"policy_statement": [{"Effect": "Allow", "Action": ["obs:*"], "Resource": ["*"]}]}`,
		`{"policy_statement": [{"Effect": "Deny", "Action": ["b", "a", "a"], "Resource": ["obs:*:*:object:x/*"], "Sid": "s\u202e", "Condition": {"NumericLessThan": {"n": 12345678901234567890123}, "StringEquals": {"k": ["1", "2"]}}}, {"Effect": "Allow", "Action": ["c"], "Resource": ["*"]}]}`,
		`{"policy_statement": [{"Effect": "Allow", "Action": ["a"], "Resource": ["*"], "Condition": {"a": 1, "a": 2}}]}`,
		`{"policy_statement": [{"Effect": "Allow", "Action": ["\ud800"], "Resource": ["*"]}]}`,
		"{\"policy_statement\": [{\"Effect\": \"Allow\", \"Action\": [\"\xff\"], \"Resource\": [\"*\"]}]}",
		`{"policy_statement": []} x`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, errs := ParseDocument(data, "policy_json")
		if len(errs) > 0 {
			return
		}
		if err := CheckJSON(data, ""); err != nil {
			t.Fatalf("accepted input CheckJSON refuses: %v", err)
		}
		canon := CanonicalJSON(p)
		p2, errs := ParseStatements([]byte(canon))
		if len(errs) > 0 {
			t.Fatalf("canonical form %s does not parse: %v", canon, errs)
		}
		if got := CanonicalJSON(p2); got != canon {
			t.Fatalf("canonical form not stable:\n%s\n%s", canon, got)
		}
		p3, errs := ParseDocument([]byte(Pretty(p)), "policy_json")
		if len(errs) > 0 || !Equal(p, p3) {
			t.Fatalf("Pretty does not parse back: %v", errs)
		}
		rev := make(Policy, len(p))
		for i, s := range p {
			s.Action, s.Resource = slices.Clone(s.Action), slices.Clone(s.Resource)
			slices.Reverse(s.Action)
			slices.Reverse(s.Resource)
			rev[len(p)-1-i] = s
		}
		if Fingerprint(rev) != Fingerprint(p) {
			t.Fatalf("reordered policy has another fingerprint")
		}
	})
}

// A number no float64 can hold is still a JSON number: the Condition is
// valid and keeps it exactly as written.
func TestConditionNumbersBeyondFloat64(t *testing.T) {
	t.Parallel()
	p, errs := ParseStatements([]byte(`[{"Effect":"Allow","Action":["obs:*"],"Resource":["*"],"Condition":{"NumericLessThan":{"obs:size":1e400}}}]`))
	if len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	if got := string(p[0].Condition); got != `{"NumericLessThan":{"obs:size":1e400}}` {
		t.Errorf("Condition = %s", got)
	}
}
