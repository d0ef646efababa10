package views_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vpcep-console/vpcep-console/internal/views"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// rowCache is a views.RowCache that counts what it renders.
type rowCache struct {
	row      *string
	rendered int
}

func (c *rowCache) Row(render func() (string, error)) (string, error) {
	if c.row != nil {
		return *c.row, nil
	}
	c.rendered++
	s, err := render()
	if err == nil {
		c.row = &s
	}
	return s, err
}

// A page whose rows come from their caches is the page rendered afresh,
// byte for byte, and each row is rendered once however often it is shown.
func TestCachedRowsRenderTheSamePage(t *testing.T) {
	eps := generatedEndpoints(t, 50)
	// Text the row must escape and mark, in every cell that shows text.
	eps[3].ServiceName = "com.example.<b>\u202Eevil&co\"</b>"
	eps[3].ID = "id-\u200B'\"<>&-0123456789"
	eps[3].Status = "bad\x01 status"
	eps[3].VpcID = "vpc-\uFEFF"
	eps[3].Tags = []vpcep.Tag{{Key: "k<\u2028>", Value: "v&\u00A0é"}}
	render := func(p views.EndpointsPage) string {
		t.Helper()
		var buf bytes.Buffer
		if err := views.EndpointsView(p).Render(context.Background(), &buf); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	plain := endpointsPage(eps)
	want := render(plain)

	cached := endpointsPage(eps)
	caches := make([]*rowCache, len(eps))
	for i := range caches {
		caches[i] = &rowCache{}
		cached.Results.RowCaches = append(cached.Results.RowCaches, caches[i])
	}
	for round := range 3 {
		if diff := cmp.Diff(want, render(cached)); diff != "" {
			t.Fatalf("round %d: the page with cached rows differs (-fresh +cached):\n%s", round, diff)
		}
	}
	for i, c := range caches {
		if c.rendered != 1 {
			t.Errorf("row %d rendered %d times over three pages, want once", i, c.rendered)
		}
	}
	// Some rows cached, some not (a shorter or partly nil cache list).
	partly := endpointsPage(eps)
	partly.Results.RowCaches = []views.RowCache{caches[0], nil, caches[2]}
	if diff := cmp.Diff(want, render(partly)); diff != "" {
		t.Fatalf("the page with some rows cached differs (-fresh +cached):\n%s", diff)
	}
}
