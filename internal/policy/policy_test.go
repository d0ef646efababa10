package policy

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

func stmt(effect string, actions, resources []string) vpcep.PolicyStatement {
	return vpcep.PolicyStatement{Effect: effect, Action: actions, Resource: resources}
}

// MalformedPolicies is the table of bad input shared with the handler tests:
// each raw editor document, the field its error is at, and a piece of the
// message.
var MalformedPolicies = []struct {
	Name, Doc, Field, Message string
}{
	{"empty input", ``, "doc", "it is empty"},
	{"not JSON", `policy`, "doc", "Not well-formed JSON"},
	{"truncated", `{"policy_statement": [`, "doc", "Not well-formed JSON"},
	{"trailing data", `{"policy_statement": []} {}`, "doc", "unexpected data"},
	{"array at top", `[]`, "doc", "expected map"},
	{"null at top", `null`, "doc", "must be a JSON object"},
	{"unknown top-level key", `{"policy_statement": [], "policy_document": {}}`, "doc", `Unknown key "policy_document"`},
	{"missing policy_statement", `{}`, "policy_statement", "policy_statement is required"},
	{"policy_statement not an array", `{"policy_statement": {"Effect": "Allow"}}`, "policy_statement", "must be an array"},
	{"policy_statement null", `{"policy_statement": null}`, "policy_statement", "must be an array"},
	{"no statements", `{"policy_statement": []}`, "policy_statement", "at least one statement"},
	{"statement not an object", `{"policy_statement": ["Allow"]}`, "policy_statement[0]", "must be a JSON object"},
	{"unknown statement key", `{"policy_statement": [{"Effect": "Allow", "Action": ["a"], "Resource": ["*"], "Principal": "*"}]}`, "policy_statement[0]", `Unknown key "Principal"`},
	{"lower-case key", `{"policy_statement": [{"effect": "Allow", "Action": ["a"], "Resource": ["*"]}]}`, "policy_statement[0]", `Unknown key "effect"`},
	{"missing Effect", `{"policy_statement": [{"Action": ["a"], "Resource": ["*"]}]}`, "policy_statement[0].Effect", "Effect is required"},
	{"Effect lower case", `{"policy_statement": [{"Effect": "allow", "Action": ["a"], "Resource": ["*"]}]}`, "policy_statement[0].Effect", `not "allow"`},
	{"Effect with space", `{"policy_statement": [{"Effect": "Allow ", "Action": ["a"], "Resource": ["*"]}]}`, "policy_statement[0].Effect", "exactly Allow or Deny"},
	{"Effect not a string", `{"policy_statement": [{"Effect": true, "Action": ["a"], "Resource": ["*"]}]}`, "policy_statement[0].Effect", "must be the string"},
	{"missing Action", `{"policy_statement": [{"Effect": "Allow", "Resource": ["*"]}]}`, "policy_statement[0].Action", "Action is required"},
	{"Action a string", `{"policy_statement": [{"Effect": "Allow", "Action": "obs:*", "Resource": ["*"]}]}`, "policy_statement[0].Action", "must be an array of strings"},
	{"Action empty", `{"policy_statement": [{"Effect": "Allow", "Action": [], "Resource": ["*"]}]}`, "policy_statement[0].Action", "at least one entry"},
	{"Action entry a number", `{"policy_statement": [{"Effect": "Allow", "Action": [1], "Resource": ["*"]}]}`, "policy_statement[0].Action[0]", "must be strings"},
	{"Action entry empty", `{"policy_statement": [{"Effect": "Allow", "Action": ["obs:*", ""], "Resource": ["*"]}]}`, "policy_statement[0].Action[1]", "must not be empty"},
	{"Action entry padded", `{"policy_statement": [{"Effect": "Allow", "Action": [" obs:*"], "Resource": ["*"]}]}`, "policy_statement[0].Action[0]", "spaces"},
	{"missing Resource", `{"policy_statement": [{"Effect": "Allow", "Action": ["a"]}]}`, "policy_statement[0].Resource", "Resource is required"},
	{"Resource null", `{"policy_statement": [{"Effect": "Allow", "Action": ["a"], "Resource": null}]}`, "policy_statement[0].Resource", "must be an array"},
	{"Resource entry blank", `{"policy_statement": [{"Effect": "Allow", "Action": ["a"], "Resource": ["   "]}]}`, "policy_statement[0].Resource[0]", "must not be empty"},
	{"Resource entry too long", `{"policy_statement": [{"Effect": "Allow", "Action": ["a"], "Resource": ["` + strings.Repeat("r", 513) + `"]}]}`, "policy_statement[0].Resource[0]", "at most 512 bytes"},
	{"Condition a string", `{"policy_statement": [{"Effect": "Allow", "Action": ["a"], "Resource": ["*"], "Condition": "ip"}]}`, "policy_statement[0].Condition", "must be a JSON object"},
	{"Sid a number", `{"policy_statement": [{"Effect": "Allow", "Action": ["a"], "Resource": ["*"], "Sid": 7}]}`, "policy_statement[0].Sid", "Sid must be a string"},
	{"second statement bad", `{"policy_statement": [{"Effect": "Allow", "Action": ["a"], "Resource": ["*"]}, {"Effect": "Block", "Action": ["a"], "Resource": ["*"]}]}`, "policy_statement[1].Effect", `not "Block"`},
	{"too many statements", `{"policy_statement": [` + strings.TrimSuffix(strings.Repeat(`{"Effect":"Allow","Action":["a"],"Resource":["*"]},`, 51), ",") + `]}`, "policy_statement", "at most 50"},
	{"too many actions", `{"policy_statement": [{"Effect": "Allow", "Action": [` + strings.TrimSuffix(strings.Repeat(`"a",`, 101), ",") + `], "Resource": ["*"]}]}`, "policy_statement[0].Action", "at most 100"},
	{"body over 64 KiB", `{"policy_statement": [{"Effect": "Allow", "Action": ["a"], "Resource": ["*"], "Sid": "` + strings.Repeat("s", 70000) + `"}]}`, "doc", "64 KiB"},
}

func TestParseDocumentRejectsMalformedPolicies(t *testing.T) {
	if len(MalformedPolicies) < 25 {
		t.Fatalf("only %d malformed cases", len(MalformedPolicies))
	}
	for _, tt := range MalformedPolicies {
		t.Run(tt.Name, func(t *testing.T) {
			_, errs := ParseDocument([]byte(tt.Doc), "doc")
			if len(errs) == 0 {
				t.Fatal("accepted")
			}
			msg := errs.For(tt.Field)
			if msg == "" {
				t.Fatalf("no error at %s; errors: %+v", tt.Field, errs)
			}
			if !strings.Contains(msg, tt.Message) {
				t.Errorf("error at %s = %q, want it to contain %q", tt.Field, msg, tt.Message)
			}
		})
	}
}

func TestParseDocumentKeepsEveryField(t *testing.T) {
	doc := `{"policy_statement": [{"Sid": "Read", "Effect": "Allow", "Action": ["obs:object:GetObject"], "Resource": ["obs:*:*:object:logs/*"], "Condition": {"StringEquals": {"obs:prefix": ["a/"]}}}]}`
	p, errs := ParseDocument([]byte(doc), "doc")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	want := Policy{{Sid: "Read", Effect: "Allow", Action: []string{"obs:object:GetObject"}, Resource: []string{"obs:*:*:object:logs/*"},
		Condition: json.RawMessage(`{"StringEquals": {"obs:prefix": ["a/"]}}`)}}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
	again, errs := ParseDocument([]byte(Pretty(p)), "doc")
	if len(errs) > 0 || !Equal(p, again) {
		t.Errorf("Pretty does not round-trip: %v", errs)
	}
}

func TestCanonicalIgnoresOrderAndWhitespace(t *testing.T) {
	a := Policy{
		{Effect: "Allow", Action: []string{"b", "a", "a"}, Resource: []string{"r2", "r1"}, Condition: json.RawMessage(`{ "z": 1, "a": {"y": 2.50, "b": [1]} }`)},
		stmt("Deny", []string{"d"}, []string{"*"}),
	}
	b := Policy{
		stmt("Deny", []string{"d"}, []string{"*"}),
		{Effect: "Allow", Action: []string{"a", "b"}, Resource: []string{"r1", "r2"}, Condition: json.RawMessage(`{"a":{"b":[1],"y":2.50},"z":1}`)},
	}
	if !Equal(a, b) || Fingerprint(a) != Fingerprint(b) {
		t.Fatalf("canonical forms differ:\n%s\n%s", CanonicalJSON(a), CanonicalJSON(b))
	}
	if Compare(a, b).HasChanges() {
		t.Error("Compare reports changes between equal policies")
	}
	c := Policy{stmt("Deny", []string{"d"}, []string{"*"})}
	if Equal(a, c) || Fingerprint(a) == Fingerprint(c) {
		t.Error("different policies compare equal")
	}
}

func TestCompareDescribesTheChange(t *testing.T) {
	base := Policy{
		{Sid: "App", Effect: "Allow", Action: []string{"obs:object:GetObject"}, Resource: []string{"obs:*:*:object:logs-prod/*"}},
		stmt("Deny", []string{"obs:object:DeleteObject"}, []string{"obs:*:*:object:logs-prod/*"}),
	}
	tests := []struct {
		name  string
		after Policy
		want  []string
	}{
		{"grant an action", Policy{
			{Sid: "App", Effect: "Allow", Action: []string{"obs:object:GetObject", "obs:object:PutObject"}, Resource: []string{"obs:*:*:object:logs-prod/*"}},
			base[1],
		}, []string{"grants obs:object:PutObject on objects logs-prod/*"}},
		{"remove the deny", Policy{base[0]}, []string{"no longer denies obs:object:DeleteObject on objects logs-prod/*"}},
		{"add a bucket", Policy{base[0], base[1], stmt("Allow", []string{"obs:bucket:ListBucket"}, []string{"obs:*:*:bucket:ml-datasets"})},
			[]string{"grants obs:bucket:ListBucket on bucket ml-datasets"}},
		{"remove the only allow", Policy{base[1]}, []string{
			"no longer grants obs:object:GetObject on objects logs-prod/*",
			"removes the only Allow: all OBS traffic through this endpoint will be denied",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Compare(base, tt.after)
			if diff := cmp.Diff(tt.want, d.Summary); diff != "" {
				t.Errorf("summary mismatch (-want +got):\n%s", diff)
			}
			var plus, minus int
			for _, l := range d.Lines {
				switch l.Op {
				case "+":
					plus++
				case "-":
					minus++
				}
			}
			if plus+minus == 0 {
				t.Error("the line diff shows no change")
			}
		})
	}
}

func TestLint(t *testing.T) {
	tests := []struct {
		name string
		p    Policy
		want []string
	}{
		{"clean", Policy{stmt("Allow", []string{"obs:object:GetObject"}, []string{"obs:*:*:object:logs/*"})}, nil},
		{"allows everything", Policy{stmt("Allow", []string{"obs:*"}, []string{"*"})}, []string{"allows_everything"}},
		{"denies everything", Policy{stmt("Allow", []string{"obs:object:GetObject"}, []string{"obs:*:*:object:a/*"}), stmt("Deny", []string{"*"}, []string{"*"})},
			[]string{"denies_everything", "deny_shadows_allow"}},
		{"duplicate", Policy{stmt("Allow", []string{"a:b"}, []string{"obs:*:*:bucket:x"}), stmt("Allow", []string{"a:b"}, []string{"obs:*:*:bucket:x"})}, []string{"duplicate_statement"}},
		{"deny shadows allow", Policy{
			stmt("Allow", []string{"obs:object:GetObject"}, []string{"obs:*:*:object:logs/a"}),
			stmt("Deny", []string{"obs:object:*"}, []string{"obs:*:*:object:logs/*"}),
		}, []string{"deny_shadows_allow"}},
		{"odd resource", Policy{stmt("Allow", []string{"obs:object:GetObject"}, []string{"my-bucket"})}, []string{"unusual_resource"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, w := range Lint(tt.p) {
				got = append(got, w.Code)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("warnings mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateReason(t *testing.T) {
	if ValidateReason("  ") == nil || ValidateReason(strings.Repeat("x", 1001)) == nil || ValidateReason("ticket OPS-1") != nil {
		t.Error("reason validation")
	}
}
