package policy

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vpcep-console/vpcep-console/internal/policy/policytest"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

func stmt(effect string, actions, resources []string) vpcep.PolicyStatement {
	return vpcep.PolicyStatement{Effect: effect, Action: actions, Resource: resources}
}

func TestParseDocumentRejectsMalformedPolicies(t *testing.T) {
	t.Parallel()
	if len(policytest.MalformedPolicies) < 25 {
		t.Fatalf("only %d malformed cases", len(policytest.MalformedPolicies))
	}
	for _, tt := range policytest.MalformedPolicies {
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
	t.Parallel()
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
	t.Parallel()
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
	if Compare(a, b, "the live policy").HasChanges() {
		t.Error("Compare reports changes between equal policies")
	}
	c := Policy{stmt("Deny", []string{"d"}, []string{"*"})}
	if Equal(a, c) || Fingerprint(a) == Fingerprint(c) {
		t.Error("different policies compare equal")
	}
}

func TestCompareDescribesTheChange(t *testing.T) {
	t.Parallel()
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
		}, []string{"Statement 1 (App) now also grants obs:object:PutObject on objects logs-prod/*"}},
		{"remove the deny", Policy{base[0]}, []string{"Statement 2 of the live policy is removed: it no longer denies obs:object:DeleteObject on objects logs-prod/*"}},
		{"add a bucket", Policy{base[0], base[1], stmt("Allow", []string{"obs:bucket:ListBucket"}, []string{"obs:*:*:bucket:ml-datasets"})},
			[]string{"Statement 3 (new) grants obs:bucket:ListBucket on bucket ml-datasets"}},
		{"remove the only allow", Policy{base[1]}, []string{
			"Statement 1 (App) of the live policy is removed: it no longer grants obs:object:GetObject on objects logs-prod/*",
			"removes the only Allow: all OBS traffic through this endpoint will be denied",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Compare(base, tt.after, "the live policy")
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

func withCondition(s vpcep.PolicyStatement, cond string) vpcep.PolicyStatement {
	s.Condition = json.RawMessage(cond)
	return s
}

func TestLint(t *testing.T) {
	t.Parallel()
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
		{"escaped invisible character beside a huge number", Policy{withCondition(stmt("Allow", []string{"obs:object:GetObject"}, []string{"obs:*:*:object:logs/*"}),
			`{"StringEquals":{"k":["\u202ex"]},"NumericLessThan":{"n":1e400}}`)}, []string{"invisible_characters"}},
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
	t.Parallel()
	if ValidateReason("  ") == nil || ValidateReason(strings.Repeat("x", 1001)) == nil || ValidateReason("ticket OPS-1") != nil {
		t.Error("reason validation")
	}
}
