package change_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vpcep-console/vpcep-console/internal/change"
	"github.com/vpcep-console/vpcep-console/internal/policy"
)

// The warnings an actor acknowledged are recorded in the change's entry;
// a code that is not a warning of the policy is refused before anything
// is recorded or sent.
func TestAcknowledgedWarningsAreRecorded(t *testing.T) {
	t.Parallel()
	allowAll := policy.Policy{{Effect: "Allow", Action: []string{"*"}, Resource: []string{"*"}}}
	odd := policy.Policy{{Effect: "Allow", Action: []string{"*"}, Resource: []string{"*"}},
		{Effect: "Allow", Action: []string{"obs:object:GetObject"}, Resource: []string{"bucket-without-prefix"}}}
	tests := []struct {
		name    string
		policy  policy.Policy
		ack     []string
		want    []string // recorded; nil: refused
		invalid bool
	}{
		{"none", readOnly("logs"), nil, []string{}, false},
		{"one", allowAll, []string{"allows_everything"}, []string{"allows_everything"}, false},
		{"two, repeated, unsorted", odd, []string{"unusual_resource", "allows_everything", "unusual_resource"}, []string{"allows_everything", "unusual_resource"}, false},
		{"not a warning of this policy", readOnly("logs"), []string{"allows_everything"}, nil, true},
		{"made up", allowAll, []string{"allows_everything", "nothing_to_see"}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			f := newFixture(t)
			req := f.update(tt.policy, "")
			req.Acknowledged = tt.ack
			res, err := f.applier.Apply(ctx, req)
			if tt.invalid {
				var inv *change.InvalidError
				if !errors.As(err, &inv) || inv.Errors[0].Field != change.AcknowledgedField {
					t.Fatalf("Apply = %+v, %v; want an InvalidError at %s", res, err, change.AcknowledgedField)
				}
				if f.puts() != 0 {
					t.Errorf("%d PUTs after a refused acknowledgement", f.puts())
				}
				return
			}
			if err != nil || res.Outcome != change.Applied {
				t.Fatalf("Apply = %+v, %v", res, err)
			}
			stored, err := f.log.Get(ctx, res.Entry.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, stored.AcknowledgedWarnings); diff != "" {
				t.Errorf("recorded acknowledged warnings mismatch (-want +got):\n%s", diff)
			}
			if stored.Actor != req.Actor {
				t.Errorf("entry actor %q, want %q", stored.Actor, req.Actor)
			}
		})
	}
}
