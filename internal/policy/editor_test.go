package policy

import (
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

func TestSyntaxErrorsNameLineAndColumn(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, doc, want string
	}{
		{"extra comma", "{\n  \"policy_statement\": [\n    {\"Effect\": \"Allow\",, \"Action\": []}\n  ]\n}",
			"The JSON has an error at line 3, column 24:"},
		{"truncated", "{\"policy_statement\": [\n", "The JSON has an error at line 2, column 1:"},
		{"CRLF line breaks as a textarea posts them", "{\r\n\"policy_statement\": x\r\n}", "The JSON has an error at line 2, column 21:"},
		{"columns count characters, not bytes", `{"policy_statement": [{"Sid": "Café"}] x}`, "The JSON has an error at line 1, column 40:"},
		{"trailing data", `{"policy_statement": []} {}`, "The JSON has an error at line 1, column 26: unexpected data after the JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errs := ParseDocument([]byte(tt.doc), "doc")
			if msg := errs.For("doc"); !strings.Contains(msg, tt.want) || strings.Contains(msg, "byte") {
				t.Errorf("error = %q, want it to contain %q and no byte offset", msg, tt.want)
			}
		})
	}
}

func TestLineColumn(t *testing.T) {
	t.Parallel()
	tests := []struct {
		data      string
		offset    int
		line, col int
	}{
		{"", 0, 1, 1},
		{"abc", 2, 1, 3},
		{"a\nbc", 3, 2, 2},
		{"a\r\nbc", 4, 2, 2},
		{"é\nxé!", 6, 2, 3},
		{"ab", 99, 1, 3},
	}
	for _, tt := range tests {
		if l, c := LineColumn([]byte(tt.data), tt.offset); l != tt.line || c != tt.col {
			t.Errorf("LineColumn(%q, %d) = %d, %d; want %d, %d", tt.data, tt.offset, l, c, tt.line, tt.col)
		}
	}
}

func TestReadEditorDocument(t *testing.T) {
	t.Parallel()
	t.Run("Effect in another case is read as Allow or Deny, and said so", func(t *testing.T) {
		r := ReadEditorDocument([]byte(`{"policy_statement": [{"Effect": "allow", "Action": ["a"], "Resource": ["*"]}, {"Effect": "DENY", "Action": ["a"], "Resource": ["*"]}]}`), "doc")
		if len(r.Errors) > 0 {
			t.Fatal(r.Errors)
		}
		if r.Policy[0].Effect != Allow || r.Policy[1].Effect != Deny {
			t.Errorf("effects %q %q", r.Policy[0].Effect, r.Policy[1].Effect)
		}
		want := []string{`Statement 1: Effect "allow" is read as "Allow".`, `Statement 2: Effect "DENY" is read as "Deny".`}
		if diff := cmp.Diff(want, r.Notes); diff != "" {
			t.Errorf("notes mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("an incomplete statement still reaches the form", func(t *testing.T) {
		r := ReadEditorDocument([]byte(`{"policy_statement": [{"Effect": "Allow", "Action": [], "Resource": ["*"]}]}`), "doc")
		if len(r.Errors) > 0 || len(r.Policy) != 1 {
			t.Fatalf("%+v", r)
		}
	})
	t.Run("a statement the form cannot show is an error", func(t *testing.T) {
		r := ReadEditorDocument([]byte(`{"policy_statement": [{"Effect": "Allow", "Action": "obs:*", "Resource": ["*"]}]}`), "doc")
		if r.Errors.For("policy_statement[0].Action") == "" {
			t.Fatalf("%+v", r.Errors)
		}
	})
	t.Run("the API stays strict", func(t *testing.T) {
		_, errs := ParseDocument([]byte(`{"policy_statement": [{"Effect": "allow", "Action": ["a"], "Resource": ["*"]}]}`), "doc")
		if errs.For("policy_statement[0].Effect") == "" {
			t.Fatal("allow accepted")
		}
	})
}

func TestPrettyWritesNoNulls(t *testing.T) {
	t.Parallel()
	got := Pretty(Policy{{Effect: Allow}})
	if strings.Contains(got, "null") || !strings.Contains(got, `"Action": []`) {
		t.Errorf("Pretty of a new statement:\n%s", got)
	}
}

// numbers lists each change as "kind N" (N its number where the admin sees
// it, or "was N" for a removed statement).
func numbers(d Diff) []string {
	var out []string
	for _, c := range d.Statements {
		if c.Kind == Removed {
			out = append(out, c.Kind+" was "+strconv.Itoa(c.BeforeNumber))
		} else {
			out = append(out, c.Kind+" "+strconv.Itoa(c.Number))
		}
	}
	return out
}

func TestCompareKeepsTheAdminsOrder(t *testing.T) {
	t.Parallel()
	z := stmt(Allow, []string{"z:z"}, []string{"obs:*:*:bucket:z"})
	a := stmt(Deny, []string{"a:a"}, []string{"obs:*:*:bucket:a"})
	m := stmt(Deny, []string{"m:m"}, []string{"obs:*:*:bucket:m"})
	m2 := stmt(Deny, []string{"m:m", "m:n"}, []string{"obs:*:*:bucket:m"})
	n := stmt(Allow, []string{"n:n"}, []string{"obs:*:*:bucket:n"})
	before := Policy{z, m, a}
	after := Policy{z, n, m2} // a removed, n added, m changed
	d := Compare(before, after, "the live policy")
	want := []string{"unchanged 1", "added 2", "changed 3", "removed was 3"}
	if diff := cmp.Diff(want, numbers(d)); diff != "" {
		t.Errorf("order mismatch (-want +got):\n%s", diff)
	}
	// Statement 3 of a warning is statement 3 of the diff.
	if w := Lint(Policy{z, n, stmt(Allow, []string{"obs:*"}, []string{"*"})}); len(w) != 1 || !strings.HasPrefix(w[0].Message, "Statement 3 ") {
		t.Fatalf("lint: %+v", w)
	}
	if got := numbers(Compare(Policy{z}, Policy{z, n, stmt(Allow, []string{"obs:*"}, []string{"*"})}, "the live policy")); got[2] != "added 3" {
		t.Errorf("the third statement shown is %q", got[2])
	}
	// The proposed side of the line diff is the policy as the admin wrote it.
	var proposed []string
	for _, l := range d.Lines {
		if l.Op != "-" {
			proposed = append(proposed, l.Text)
		}
	}
	if got, want := strings.Join(proposed, "\n"), strings.TrimRight(Pretty(after), "\n"); got != want {
		t.Errorf("proposed side:\n%s\nwant\n%s", got, want)
	}
	// Reordering entries or statements alone changes nothing.
	if Compare(Policy{m2, z}, Policy{z, {Effect: Deny, Action: []string{"m:n", "m:m"}, Resource: m2.Resource}}, "the live policy").HasChanges() {
		t.Error("a reordering shows as a change")
	}
}

func TestCompareOneBulletPerMeaning(t *testing.T) {
	t.Parallel()
	before := Policy{{Sid: "App", Effect: Allow, Action: []string{"obs:object:GetObject", "obs:object:DeleteObject"}, Resource: []string{"obs:*:*:object:a/*", "obs:*:*:object:b/*"}}}
	after := Policy{{Sid: "App", Effect: Allow, Action: []string{"obs:object:GetObject", "obs:object:PutObject"}, Resource: []string{"obs:*:*:object:a/*", "obs:*:*:object:c/*"}}}
	want := []string{
		"Statement 1 (App) now also grants obs:object:PutObject on objects a/*, objects c/*; and obs:object:GetObject on objects c/*",
		"Statement 1 (App) no longer grants obs:object:DeleteObject on objects a/*, objects b/*; nor obs:object:GetObject on objects b/*",
	}
	if diff := cmp.Diff(want, Compare(before, after, "the live policy").Summary); diff != "" {
		t.Errorf("summary mismatch (-want +got):\n%s", diff)
	}
}

func TestCollapseUnchanged(t *testing.T) {
	t.Parallel()
	var lines []LineChange
	for i := range 20 {
		op := " "
		if i == 10 {
			op = "+"
		}
		lines = append(lines, LineChange{op, "l" + string(rune('a'+i))})
	}
	var got []string
	for _, b := range CollapseUnchanged(lines, 3) {
		if b.Hidden {
			got = append(got, "hidden "+strconv.Itoa(len(b.Lines)))
		} else {
			got = append(got, "shown "+strconv.Itoa(len(b.Lines)))
		}
	}
	want := []string{"hidden 7", "shown 7", "hidden 6"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("blocks mismatch (-want +got):\n%s", diff)
	}
	if b := CollapseUnchanged(lines[8:13], 3); len(b) != 1 || b[0].Hidden {
		t.Errorf("a short diff is collapsed: %+v", b)
	}
}

var _ = vpcep.PolicyStatement{}

func TestLineDiffAddsOneLineAtTheEndOfAList(t *testing.T) {
	t.Parallel()
	before := Policy{stmt(Allow, []string{"a", "b"}, []string{"*"})}
	after := Policy{stmt(Allow, []string{"a", "b", "c"}, []string{"*"})}
	var changed []string
	for _, l := range Compare(before, after, "the live policy").Lines {
		if l.Op != " " {
			changed = append(changed, l.Op+strings.TrimSpace(l.Text))
		}
	}
	if diff := cmp.Diff([]string{`+"c"`}, changed); diff != "" {
		t.Errorf("changed lines mismatch (-want +got):\n%s", diff)
	}
}
