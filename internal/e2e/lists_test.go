package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBackRestoresTheFilterControls: filter the list with htmx, open an
// endpoint, press Back: the rows and the filter controls both show the
// filtered view. Paging at the bottom of the table brings its top into view.
func TestBackRestoresTheFilterControls(t *testing.T) {
	t.Parallel()
	base, sim := console(t)
	ctx := browser(t)
	signIn(t, ctx, base)
	gateways, sfs := 0, 0
	for _, ep := range sim.Endpoints() {
		if ep.Service.Type == "gateway" {
			gateways++
			if strings.Contains(ep.Service.Name, "sfsturbo") {
				sfs++
			}
		}
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/endpoints"), chromedp.WaitVisible(`[data-testid="endpoint-table"]`),
		chromedp.SetValue(`[data-testid="filter-type"]`, "gateway"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('[data-testid="filter-type"]').dispatchEvent(new Event('change', {bubbles: true}))`)); err != nil {
		t.Fatal(err)
	}
	waitRows(t, ctx, min(gateways, 10), func(u string) bool { return strings.Contains(u, "type=gateway") })

	// A second filter, swapped in by htmx too; then Back, within htmx's
	// history: the rows and every control must be the type=gateway view.
	if err := chromedp.Do(ctx, chromedp.SendKeys(`[data-testid="filter-q"]`, "sfsturbo")); err != nil {
		t.Fatal(err)
	}
	waitRows(t, ctx, sfs, func(u string) bool { return strings.Contains(u, "q=sfsturbo") })
	if err := chromedp.Do(ctx, chromedp.NavigateBack()); err != nil {
		t.Fatal(err)
	}
	waitRows(t, ctx, min(gateways, 10), func(u string) bool { return strings.Contains(u, "type=gateway") && !strings.Contains(u, "q=sfsturbo") })
	// The address changes before the page is swapped in: wait for the
	// controls (waitFor fails the test if they never agree).
	waitFor(t, ctx, "the type filter to show gateway and the search box to be empty after Back",
		`document.querySelector('[data-testid="filter-type"]').value === "gateway" && document.querySelector('[data-testid="filter-q"]').value === ""`)

	// Opening an endpoint and coming Back shows the same view.
	if err := chromedp.Do(ctx,
		chromedp.Click(`[data-testid="endpoint-link"]`),
		chromedp.WaitVisible(`[data-testid="policy-table"]`),
		chromedp.NavigateBack(),
		chromedp.WaitVisible(`[data-testid="endpoint-table"]`)); err != nil {
		t.Fatal(err)
	}
	waitRows(t, ctx, min(gateways, 10), func(u string) bool { return strings.Contains(u, "type=gateway") })
	waitFor(t, ctx, "the type filter to show gateway after Back from an endpoint",
		`document.querySelector('[data-testid="filter-type"]').value === "gateway"`)

	// Paging from the bottom of the page: the table's top comes into view.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/endpoints"), chromedp.WaitVisible(`[data-testid="next-page"]`),
		chromedp.ScrollIntoView(`[data-testid="next-page"]`),
		chromedp.Click(`[data-testid="next-page"]`)); err != nil {
		t.Fatal(err)
	}
	waitRows(t, ctx, 10, func(u string) bool { return strings.Contains(u, "page=2") })
	waitFor(t, ctx, "the table's top in view", `(() => { const r = document.querySelector('#endpoint-results').getBoundingClientRect(); return r.top >= -1 && r.top < window.innerHeight })()`)
}
