package change_test

import (
	"errors"
	"testing"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/change"
	"github.com/vpcep-console/vpcep-console/internal/policy"
)

func TestPlanRollback(t *testing.T) {
	t.Parallel()
	before, after := readOnly("before"), readOnly("after")
	entry := func(outcome, policyBefore string) *audit.Entry {
		return &audit.Entry{ID: 7, EndpointID: "ep-1", Outcome: outcome,
			PolicyBefore: []byte(policyBefore), PolicyRequested: []byte(policy.JSON(after))}
	}
	tests := []struct {
		name            string
		entry           *audit.Entry
		restores        string
		wantTarget      policy.Policy
		wantReason      string
		wantFingerprint string // of the request made without a fingerprint
		wantErr         bool
	}{
		{"undo", entry(audit.OutcomeSucceeded, policy.JSON(before)), audit.RestoresBefore,
			before, "Rollback of #7", policy.Fingerprint(after), false},
		{"back to its version", entry(audit.OutcomeSucceeded, policy.JSON(before)), audit.RestoresAfter,
			after, "Restore of the version after #7", "", false},
		{"failed entry", entry(audit.OutcomeFailed, policy.JSON(before)), audit.RestoresBefore, nil, "", "", true},
		{"pending entry", entry(audit.OutcomePending, policy.JSON(before)), audit.RestoresBefore, nil, "", "", true},
		{"before unknown", entry(audit.OutcomeSucceeded, "null"), audit.RestoresBefore, nil, "", "", true},
		{"before was empty", entry(audit.OutcomeSucceeded, "[]"), audit.RestoresBefore, nil, "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := change.PlanRollback(tt.entry, tt.restores)
			var nr *change.NotRestorableError
			if tt.wantErr {
				if !errors.As(err, &nr) || nr.Reason == "" {
					t.Fatalf("PlanRollback = %v, %v; want a NotRestorableError", r, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !policy.Equal(r.Target, tt.wantTarget) {
				t.Errorf("Target = %s, want %s", policy.JSON(r.Target), policy.JSON(tt.wantTarget))
			}
			req := r.Request("bob", "", "", "key")
			if req.Reason != tt.wantReason || req.Fingerprint != tt.wantFingerprint || req.Action != audit.ActionRollback ||
				*req.RollbackOf != 7 || req.Restores != tt.restores || req.EndpointID != "ep-1" || req.SubmissionKey != "key" {
				t.Errorf("Request = %+v", req)
			}
			// What the admin confirmed against wins over the default.
			if req := r.Request("bob", "why", "fp-seen", ""); req.Fingerprint != "fp-seen" || req.Reason != "why" {
				t.Errorf("Request with a fingerprint and a reason = %+v", req)
			}
		})
	}
}

func TestRollbackDrift(t *testing.T) {
	t.Parallel()
	e := &audit.Entry{ID: 1, Outcome: audit.OutcomeSucceeded,
		PolicyBefore: []byte(policy.JSON(readOnly("a"))), PolicyRequested: []byte(policy.JSON(readOnly("b")))}
	undo, _ := change.PlanRollback(e, audit.RestoresBefore)
	restore, _ := change.PlanRollback(e, audit.RestoresAfter)
	if undo.Drifted(readOnly("b")) || !undo.Drifted(readOnly("c")) {
		t.Error("an undo drifts exactly when the live policy is not what the entry left")
	}
	if restore.Drifted(readOnly("c")) {
		t.Error("restoring a version never drifts")
	}
}

func TestParseRestores(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"": audit.RestoresBefore, "before": audit.RestoresBefore, "after": audit.RestoresAfter} {
		if got, err := change.ParseRestores(in); err != nil || got != want {
			t.Errorf("ParseRestores(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := change.ParseRestores("sideways"); err == nil {
		t.Error(`ParseRestores("sideways") succeeded`)
	}
}
