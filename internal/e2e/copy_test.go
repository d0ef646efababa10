package e2e

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// TestCopyButtonsAndLocalTimes: a copy button puts its text on the
// clipboard and says so, on screen and to screen readers; every <time>
// carries the reader's local time as its title.
func TestCopyButtonsAndLocalTimes(t *testing.T) {
	t.Parallel()
	base, sim := console(t)
	ctx := browser(t)
	signIn(t, ctx, base)
	ep := sim.Endpoints()[0]
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/endpoints/"+ep.ID),
		chromedp.WaitVisible(`button.copy[data-copy]`),
	); err != nil {
		t.Fatal(err)
	}
	// Capture what reaches the clipboard, through the Clipboard API or the
	// script's fallback (a selected text area and the copy command).
	eval[bool](t, ctx, `(() => {
		window.copiedText = null;
		if (navigator.clipboard) {
			navigator.clipboard.writeText = text => { window.copiedText = text; return Promise.resolve(); };
		}
		document.addEventListener("copy", () => { window.copiedText = window.copiedText || document.getSelection().toString(); });
		return true })()`)
	if err := chromedp.Do(ctx, chromedp.Click(`button.copy[data-copy]`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the live region to say Copied", `document.getElementById("live-status").textContent === "Copied"`)
	if got := eval[string](t, ctx, `document.querySelector("button.copy[data-copy]").textContent`); got != "Copied" {
		t.Errorf("button says %q", got)
	}
	if got := eval[string](t, ctx, `window.copiedText || ""`); got != ep.ID {
		t.Errorf("copied %q, want %q", got, ep.ID)
	}
	titled := eval[bool](t, ctx, `(() => { const ts = [...document.querySelectorAll("time[datetime]")];
		return ts.length > 0 && ts.every(el => el.title.includes("your local time")) })()`)
	if !titled {
		t.Error("a <time> has no local-time title")
	}
}
