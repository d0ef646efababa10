package vpcep_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vpcep-console/vpcep-console/internal/vpcep"
	"github.com/vpcep-console/vpcep-console/internal/vpcepsim"
)

// EndpointPages hands the list over one page at a time, each page read only
// when asked for, and then says it is done without asking the upstream again.
func TestEndpointPagesReadsOnePageAtATime(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, vpcepsim.GeneratedEndpoints(7, 2500, time.Now()))
	next := f.Client(t, nil).EndpointPages(vpcep.ListOptions{})
	var sizes []int
	seen := map[string]bool{}
	for i := 0; ; i++ {
		if got := len(f.Requests()); got != i {
			t.Fatalf("before page %d the upstream was asked %d times, want %d", i+1, got, i)
		}
		page, err := next(ctx)
		if err != nil {
			t.Fatalf("page %d: %v", i+1, err)
		}
		if len(page) == 0 {
			break
		}
		sizes = append(sizes, len(page))
		for _, ep := range page {
			if seen[ep.ID] {
				t.Fatalf("endpoint %s listed twice", ep.ID)
			}
			seen[ep.ID] = true
		}
	}
	if diff := cmp.Diff([]int{1000, 1000, 500}, sizes); diff != "" {
		t.Errorf("page sizes mismatch (-want +got):\n%s", diff)
	}
	if page, err := next(ctx); len(page) != 0 || err != nil {
		t.Errorf("after the end: %d endpoints, %v", len(page), err)
	}
	if got := len(f.Requests()); got != 3 {
		t.Errorf("the upstream was asked %d times, want 3", got)
	}
}
