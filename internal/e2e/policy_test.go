package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// shot saves a full-page screenshot of the current step under the test's
// artifact directory (go test -artifacts keeps them; make test does).
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100: PNG
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(t.ArtifactDir(), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// waitText waits until the text of sel contains want.
func waitText(t *testing.T, ctx context.Context, sel, want string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector('`+sel+`') || {}).`+textOf(sel)+` || ""`))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(got, want) {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s shows %q, want it to contain %q", sel, got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func textOf(sel string) string {
	if strings.Contains(sel, "textarea") || strings.Contains(sel, "input") {
		return "value"
	}
	return "innerText"
}

// TestEditApplyAndRollBackInTheBrowser walks what an admin does: open a
// gateway endpoint, change a statement in the structured editor, preview
// the diff, apply, find the entry in /audit, and roll it back.
func TestEditApplyAndRollBackInTheBrowser(t *testing.T) {
	t.Parallel()
	base, sim := console(t)
	ctx := browser(t)
	signIn(t, ctx, base)
	ep := sim.Gateway(t, 2)
	original := ep.Statements

	// The endpoint, then its editor.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/endpoints/"+ep.ID),
		chromedp.WaitVisible(`[data-testid="edit-policy"]`),
		chromedp.Click(`[data-testid="edit-policy"]`),
		chromedp.WaitVisible(`[data-testid="structured-editor"]`),
	); err != nil {
		t.Fatal(err)
	}
	// Add an action to the first statement; the raw JSON follows (htmx).
	if err := chromedp.Do(ctx,
		chromedp.SetValue(`[data-testid="action-0"]`, "obs:object:GetObject\nobs:object:PutObject\nobs:bucket:ListBucket\nobs:object:AbortMultipartUpload"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('[data-testid="action-0"]').dispatchEvent(new Event('change', {bubbles: true}))`),
	); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, `textarea[data-testid="policy-json-input"]`, "AbortMultipartUpload")
	if err := chromedp.Do(ctx, chromedp.SendKeys(`[data-testid="reason"]`, "OPS-7: let the log shipper abort multipart uploads")); err != nil {
		t.Fatal(err)
	}
	shot(t, ctx, "1-editor")

	// Preview: the diff in words and line by line.
	if err := chromedp.Do(ctx, chromedp.Click(`[data-testid="preview"]`), chromedp.WaitVisible(`[data-testid="summary"]`)); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, `[data-testid="summary"]`, "grants obs:object:AbortMultipartUpload")
	shot(t, ctx, "2-preview")

	// Apply: the entry page says it succeeded.
	if err := chromedp.Do(ctx, chromedp.Click(`[data-testid="apply"]`), chromedp.WaitVisible(`[data-testid="entry-outcome"]`)); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, `[data-testid="entry-outcome"]`, "succeeded")
	shot(t, ctx, "3-entry")
	live, _ := sim.Endpoint(ep.ID)
	if !strings.Contains(strings.Join(live.Statements[0].Action, ","), "AbortMultipartUpload") {
		t.Fatalf("live policy: %+v", live.Statements)
	}

	// Find it in the audit log.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/audit"), chromedp.WaitVisible(`[data-testid="audit-table"]`)); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, `[data-testid="audit-row"]`, "OPS-7")
	shot(t, ctx, "4-audit")

	// Roll it back: one click, a confirmation, done.
	if err := chromedp.Do(ctx,
		chromedp.Click(`[data-testid="audit-link"]`),
		chromedp.WaitVisible(`[data-testid="rollback"]`),
		chromedp.Click(`[data-testid="rollback"]`),
		chromedp.WaitVisible(`[data-testid="confirm-rollback"]`),
	); err != nil {
		t.Fatal(err)
	}
	shot(t, ctx, "5-rollback-confirm")
	if err := chromedp.Do(ctx, chromedp.Click(`[data-testid="confirm-rollback"]`), chromedp.WaitVisible(`[data-testid="rolls-back"]`)); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, `[data-testid="entry-outcome"]`, "succeeded")
	shot(t, ctx, "6-rolled-back")
	live, _ = sim.Endpoint(ep.ID)
	if strings.Join(live.Statements[0].Action, ",") != strings.Join(original[0].Action, ",") || len(live.Statements) != len(original) {
		t.Fatalf("after rollback: %+v, want %+v", live.Statements, original)
	}
}
