package policy

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

const (
	get  = "obs:object:GetObject"
	put  = "obs:object:PutObject"
	del  = "obs:object:DeleteObject"
	logs = "obs:*:*:object:logs/*"
	data = "obs:*:*:object:data/*"
)

func sid(s vpcep.PolicyStatement, name string) vpcep.PolicyStatement {
	s.Sid = name
	return s
}

// TestCompareSummaryMeansTheWholePolicy: statements pair by meaning, and
// the summary says what the whole policy gains and loses, once per
// statement, in the words of the page that shows it.
func TestCompareSummaryMeansTheWholePolicy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		before, after Policy
		beforeName    string
		wantKinds     []string
		want          []string
	}{
		{
			name:       "a Sid-less statement pairs with the one it overlaps, not the first Allow",
			before:     Policy{stmt(Allow, []string{get}, []string{logs}), stmt(Allow, []string{get}, []string{data})},
			after:      Policy{stmt(Allow, []string{get, put}, []string{data})},
			beforeName: "the live policy",
			wantKinds:  []string{"removed was 1", "changed 1"},
			want: []string{
				"Statement 1 of the live policy is removed: it no longer grants obs:object:GetObject on objects logs/*",
				"Statement 1 now also grants obs:object:PutObject on objects data/*",
			},
		},
		{
			name:       "adding Sids and an action is one change per statement",
			before:     Policy{stmt(Allow, []string{get}, []string{logs}), stmt(Deny, []string{del}, []string{logs})},
			after:      Policy{sid(stmt(Allow, []string{get, put}, []string{logs}), "App"), sid(stmt(Deny, []string{del}, []string{logs}), "NoDelete")},
			beforeName: "the previous version",
			wantKinds:  []string{"changed 1", "changed 2"},
			want: []string{
				"Statement 1 (App) gets the Sid App",
				"Statement 1 (App) now also grants obs:object:PutObject on objects logs/*",
				"Statement 2 (NoDelete) gets the Sid NoDelete",
			},
		},
		{
			name:       "a renamed statement that keeps its grants is changed",
			before:     Policy{sid(stmt(Allow, []string{get, put}, []string{logs}), "Old")},
			after:      Policy{sid(stmt(Allow, []string{get, put}, []string{logs}), "New")},
			beforeName: "the live policy",
			wantKinds:  []string{"changed 1"},
			want:       []string{"Statement 1 (New) is renamed from Old"},
		},
		{
			name:       "a statement whose Sid and Effect change but whose grants overlap is changed, in one line",
			before:     Policy{sid(stmt(Allow, []string{get, put}, []string{logs}), "Old")},
			after:      Policy{sid(stmt(Deny, []string{get, put, del}, []string{logs}), "New")},
			beforeName: "the live policy",
			wantKinds:  []string{"changed 1"},
			want: []string{
				"Statement 1 (New) is renamed from Old and turns from Allow to Deny: it now denies obs:object:GetObject, obs:object:PutObject, obs:object:DeleteObject on objects logs/*",
				"removes the only Allow: all OBS traffic through this endpoint will be denied",
			},
		},
		{
			name:       "a grant moved to another statement is not lost",
			before:     Policy{stmt(Allow, []string{get, put}, []string{logs}), stmt(Deny, []string{del}, []string{data})},
			after:      Policy{stmt(Allow, []string{get}, []string{logs}), stmt(Deny, []string{del}, []string{data}), sid(stmt(Allow, []string{put}, []string{logs}), "Writers")},
			beforeName: "the live policy",
			wantKinds:  []string{"changed 1", "unchanged 2", "added 3"},
			want:       []string{"Statement 3 (Writers) (new) grants nothing the live policy did not already grant"},
		},
		{
			name:       "a grant still given by a wildcard statement is not lost",
			before:     Policy{stmt(Allow, []string{get}, []string{logs}), stmt(Allow, []string{put}, []string{data})},
			after:      Policy{stmt(Allow, []string{"obs:object:*"}, []string{logs}), stmt(Allow, []string{put}, []string{data})},
			beforeName: "the live policy",
			wantKinds:  []string{"changed 1", "unchanged 2"},
			want:       []string{"Statement 1 now also grants obs:object:* on objects logs/*"},
		},
		{
			name:       "what the old policy granted elsewhere is not new",
			before:     Policy{stmt(Allow, []string{get}, []string{logs}), stmt(Allow, []string{get, put}, []string{data})},
			after:      Policy{stmt(Allow, []string{get}, []string{logs, data}), stmt(Allow, []string{get, put}, []string{data})},
			beforeName: "the live policy",
			wantKinds:  []string{"changed 1", "unchanged 2"},
			want:       nil,
		},
		{
			name:       "a removed statement whose grants another still gives says so",
			before:     Policy{stmt(Allow, []string{get}, []string{logs}), stmt(Allow, []string{get, put}, []string{logs})},
			after:      Policy{stmt(Allow, []string{get, put}, []string{logs})},
			beforeName: "what the entry left",
			wantKinds:  []string{"removed was 1", "unchanged 1"},
			want:       []string{"Statement 1 of what the entry left is removed: other statements still grant all it did"},
		},
		{
			name:       "statements without overlap still pair by Effect and position",
			before:     Policy{stmt(Allow, []string{get}, []string{logs}), stmt(Deny, []string{del}, []string{logs})},
			after:      Policy{stmt(Deny, []string{del}, []string{logs}), stmt(Allow, []string{put}, []string{data})},
			beforeName: "the live policy",
			wantKinds:  []string{"unchanged 1", "changed 2"},
			want: []string{
				"Statement 2 now also grants obs:object:PutObject on objects data/*",
				"Statement 2 no longer grants obs:object:GetObject on objects logs/*",
			},
		},
		{
			name:       "a grant left only under a condition is lost",
			before:     Policy{stmt(Allow, []string{get}, []string{logs}), withCondition(stmt(Allow, []string{get}, []string{logs}), `{"Bool":{"obs:SecureTransport":["true"]}}`)},
			after:      Policy{withCondition(stmt(Allow, []string{get}, []string{logs}), `{"Bool":{"obs:SecureTransport":["true"]}}`)},
			beforeName: "the live policy",
			wantKinds:  []string{"removed was 1", "unchanged 1"},
			want:       []string{"Statement 1 of the live policy is removed: it no longer grants obs:object:GetObject on objects logs/*"},
		},
		{
			name:       "a Deny that loses its Sid and turns to Allow is one line",
			before:     Policy{sid(stmt(Deny, []string{del}, []string{logs}), "NoDelete")},
			after:      Policy{stmt(Allow, []string{del}, []string{logs})},
			beforeName: "the previous version",
			wantKinds:  []string{"changed 1"},
			want:       []string{"Statement 1 loses the Sid NoDelete and turns from Deny to Allow: it now grants obs:object:DeleteObject on objects logs/*"},
		},
		{
			name:       "a statement with another Sid sharing little is removed and new",
			before:     Policy{sid(stmt(Allow, []string{get, put, del}, []string{logs, data}), "A")},
			after:      Policy{sid(stmt(Allow, []string{get}, []string{logs}), "B")},
			beforeName: "the live policy",
			wantKinds:  []string{"removed was 1", "added 1"},
			want: []string{
				"Statement 1 (A) of the live policy is removed: it no longer grants obs:object:GetObject on objects data/*; nor obs:object:PutObject, obs:object:DeleteObject on objects logs/*, objects data/*",
				"Statement 1 (B) (new) grants nothing the live policy did not already grant",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Compare(tt.before, tt.after, tt.beforeName)
			if diff := cmp.Diff(tt.wantKinds, numbers(d)); diff != "" {
				t.Errorf("statements mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, d.Summary); diff != "" {
				t.Errorf("summary mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGlobMatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern, value string
		want           bool
	}{
		{"obs:object:GetObject", "obs:object:GetObject", true},
		{"obs:object:*", "obs:object:GetObject", true},
		{"obs:object:*", "obs:bucket:ListBucket", false},
		{"obs:*:*:object:logs/*", "obs:*:*:object:logs/2026/a.gz", true},
		{"obs:*:*:object:logs/*", "obs:*:*:object:data/a", false},
		{"*", "obs:*:*:bucket:x", true},
		{"obs:object:Get?bject", "obs:object:GetObject", true},
		{"obs:object:GetObject", "obs:object:*", false},
		{"a*b*c", "aXbYbc", true},
		{"a*b*c", "aXbYbd", false},
		{"", "", true},
	}
	for _, tt := range tests {
		if got := globMatch(tt.pattern, tt.value); got != tt.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tt.pattern, tt.value, got, tt.want)
		}
	}
}

// BenchmarkCompareLargestPolicy diffs two policies at the bounds, every
// statement edited: the summary weighs each cell against the other side.
func BenchmarkCompareLargestPolicy(b *testing.B) {
	build := func(tag string) Policy {
		p := make(Policy, MaxStatements)
		for i := range p {
			s := vpcep.PolicyStatement{Effect: Allow}
			for k := range MaxEntries {
				s.Action = append(s.Action, fmt.Sprintf("obs:object:Action%d%s", k, tag))
				s.Resource = append(s.Resource, fmt.Sprintf("obs:*:*:object:bucket%d/%d%s/*", i, k, tag))
			}
			p[i] = s
		}
		return p
	}
	before, after := build(""), build("x")
	for i := range after {
		after[i].Action[0], after[i].Resource[0] = before[i].Action[0], before[i].Resource[0]
	}
	for b.Loop() {
		Compare(before, after, "the live policy")
	}
}
