package e2e

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// updateScreenshots copies the chosen screenshots of the page walk into
// docs/screenshots, which the README shows:
//
//	go test ./internal/e2e -run TestEveryPageState -update-screenshots
var updateScreenshots = flag.Bool("update-screenshots", false, "write the README's screenshots to docs/screenshots")

// phoneWidth is the narrowest screen the console must fit: a common phone,
// in CSS pixels. The desktop is the browser's window (see browser).
const (
	phoneWidth, phoneHeight     = 390, 844
	desktopWidth, desktopHeight = 1400, 1000
)

// desktopLayout lays the page out on the desktop window again. (Clearing
// the override, ResetViewport, leaves headless Chromium at the last size.)
func desktopLayout() chromedp.Action[chromedp.Void] {
	return chromedp.EmulateViewport(desktopWidth, desktopHeight)
}

// axeSource is axe-core's browser build, from npm (package.json pins it;
// `make test` installs it). Read once per test binary.
var axeSource = sync.OnceValues(func() (string, error) {
	path := filepath.Join(repoRoot(), "node_modules", "axe-core", "axe.min.js")
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("axe-core for the accessibility checks: %w (run `npm ci` at the repository root; `make test` does)", err)
	}
	return string(b), nil
})

// repoRoot is the directory of go.mod, found upwards from the test's
// directory (go test runs a package's tests in its own directory).
func repoRoot() string {
	dir, _ := os.Getwd()
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}

// axeViolation is one failed axe-core rule on a page, with the elements that
// fail it.
type axeViolation struct {
	ID      string `json:"id"`
	Impact  string `json:"impact"`
	Help    string `json:"help"`
	HelpURL string `json:"helpUrl"`
	Nodes   []struct {
		Target  string `json:"target"`
		HTML    string `json:"html"`
		Summary string `json:"summary"`
	} `json:"nodes"`
}

// runAxe is the script that runs axe-core on the whole document with the
// options given as its one argument and returns the violations in the
// shape of axeViolation. With no runOnly option axe-core runs every rule of
// its default set: WCAG 2.0–2.2 A and AA, and the best practices.
const runAxe = `(options) => axe.run(document, options).then(r => r.violations.map(v => ({
  id: v.id, impact: v.impact || '', help: v.help, helpUrl: v.helpUrl,
  nodes: v.nodes.map(n => ({target: n.target.map(String).join(' '), html: n.html, summary: n.failureSummary || ''})),
})))`

// preloadAxe has the browser put axe-core into every document the tab
// opens from now on, before the page's own scripts (the DevTools protocol
// adds it, so the page's CSP does not govern it). The 650 KB script then
// crosses the protocol once per tab instead of once per page; axeCheck
// injects it itself into a page that lacks it.
func preloadAxe(ctx context.Context) error {
	src, err := axeSource()
	if err != nil {
		return err
	}
	return chromedp.Do(ctx, addScriptToEveryDocument(src))
}

// layoutRules are the axe-core rules whose outcome depends on the layout,
// run again on the phone layout of every state: a box that fits on a
// desktop scrolls on a phone, and then needs keyboard access.
var layoutRules = []string{"scrollable-region-focusable"}

// axeCheck runs axe-core on the page as it is now: every default rule, or
// only the rules named. The script goes in with Runtime.evaluate, which the
// page's CSP does not govern, so the product's CSP need not (and must not)
// make room for it.
func axeCheck(ctx context.Context, only ...string) ([]axeViolation, error) {
	src, err := axeSource()
	if err != nil {
		return nil, err
	}
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof window.axe === 'object'`))
	if err != nil {
		return nil, err
	}
	if !loaded {
		if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](src+"\n;undefined")); err != nil {
			return nil, fmt.Errorf("inject axe-core: %w", err)
		}
	}
	options := map[string]any{"resultTypes": []string{"violations"}}
	if len(only) > 0 {
		options["runOnly"] = map[string]any{"type": "rule", "values": only}
	}
	arg, err := json.Marshal(options)
	if err != nil {
		return nil, err
	}
	return chromedp.Run(ctx, chromedp.Evaluate[[]axeViolation]("("+runAxe+")("+string(arg)+")", chromedp.EvalAwaitPromise))
}

// formatViolation is what a failing check prints for one rule: the rule id,
// its impact, each failing element (a CSS selector) with axe's reason, and
// the page that explains the rule and its fixes.
func formatViolation(v axeViolation) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): %s — %s", v.ID, v.Impact, v.Help, v.HelpURL)
	for _, n := range v.Nodes {
		fmt.Fprintf(&b, "\n      %s  %s\n        %s", n.Target, shorten(n.HTML, 100), shorten(strings.ReplaceAll(n.Summary, "\n", " / "), 300))
	}
	return b.String()
}

// overflow says how wide the page is at the current viewport and which
// elements stick out past its right edge (the outermost ones: those whose
// parent still fits, outside any box that scrolls), so a failing width
// check names what to fix.
type overflow struct {
	ScrollWidth int      `json:"scrollWidth"`
	ClientWidth int      `json:"clientWidth"`
	Culprits    []string `json:"culprits"`
}

const measureOverflow = `(() => {
  const doc = document.documentElement, edge = doc.clientWidth + 1;
  const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (el.dataset && el.dataset.testid ? '[data-testid="' + el.dataset.testid + '"]' : '') +
    (typeof el.className === 'string' && el.className.trim() ? '.' + el.className.trim().split(/\s+/).join('.') : '');
  const path = el => {
    const parts = [];
    for (let e = el; e && e !== document.body && parts.length < 4; e = e.parentElement) parts.unshift(name(e));
    return parts.join(' > ');
  };
  // Inside a box that scrolls or clips, sticking out is the box's business.
  const clipped = el => {
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      if (getComputedStyle(a).overflowX !== 'visible') return true;
    }
    return false;
  };
  const counts = new Map();
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect(), p = el.parentElement.getBoundingClientRect();
    if (r.width > 0 && r.right > edge && p.right <= edge && !clipped(el)) {
      const key = path(el) + ' (' + Math.round(r.right) + ' px)';
      counts.set(key, (counts.get(key) || 0) + 1);
    }
  }
  const culprits = [...counts].map(([k, n]) => n > 1 ? k + ' ×' + n : k);
  return {scrollWidth: doc.scrollWidth, clientWidth: doc.clientWidth, culprits: culprits.slice(0, 10)};
})()`

// atPhoneWidth runs f with the page laid out on a 390 px wide screen, then
// restores the desktop window.
func atPhoneWidth(ctx context.Context, f func() error) error {
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(phoneWidth, phoneHeight)); err != nil {
		return err
	}
	ferr := f()
	if err := chromedp.Do(ctx, desktopLayout()); err != nil {
		return err
	}
	return ferr
}

// pageChecks checks page states for one test and keeps what it found, so
// the test can also write it all down as one report among its artifacts.
type pageChecks struct {
	t        *testing.T
	ctx      context.Context
	findings []string // markdown, one section per state that failed
}

// check runs every check (see inspect) on the page state the browser shows
// now, in a subtest named after the state, which fails on any finding.
func (pc *pageChecks) check(state string, phone bool) {
	pc.t.Helper()
	pc.t.Run(state, func(t *testing.T) {
		found, err := inspect(t, pc.ctx, phone)
		for _, f := range found {
			t.Error(f)
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(found) > 0 {
			pc.findings = append(pc.findings, "## "+state+"\n\n"+strings.Join(found, "\n\n"))
		}
	})
}

// inspect checks the page the browser shows now and returns what is wrong
// with it, one message per kind: axe-core violations, the page being wider
// than a phone, and browser console problems since the last inspection.
// axe-core runs every rule on the desktop layout and the layout rules on
// the phone layout; with phone set, every rule on the phone layout. An error means the checks themselves could not run.
func inspect(t *testing.T, ctx context.Context, phone bool) ([]string, error) {
	t.Helper()
	var found []string
	runAxeHere := func(layout string, only ...string) error {
		violations, err := axeCheck(ctx, only...)
		if err != nil {
			return fmt.Errorf("axe-core: %w", err)
		}
		if len(violations) > 0 {
			lines := make([]string, len(violations))
			for i, v := range violations {
				lines[i] = formatViolation(v)
			}
			found = append(found, fmt.Sprintf("axe-core (%s layout): %d rules violated:\n  %s", layout, len(violations), strings.Join(lines, "\n  ")))
		}
		return nil
	}
	if !phone {
		if err := runAxeHere("desktop"); err != nil {
			return found, err
		}
	}
	err := atPhoneWidth(ctx, func() error {
		o, err := chromedp.Run(ctx, chromedp.Evaluate[overflow](measureOverflow))
		if err != nil {
			return fmt.Errorf("measure the phone layout: %w", err)
		}
		if o.ScrollWidth > phoneWidth {
			found = append(found, fmt.Sprintf("at a %d px wide screen the page is %d px wide: it scrolls sideways. Sticking out:\n  %s",
				phoneWidth, o.ScrollWidth, strings.Join(o.Culprits, "\n  ")))
		}
		if phone {
			return runAxeHere("phone")
		}
		return runAxeHere("phone", layoutRules...)
	})
	if err != nil {
		return found, err
	}

	// Last, so that what the checks made the browser render (a blocked
	// icon is only requested when its style is computed) counts here.
	w := consoleOf(ctx)
	w.settle(t, ctx)
	if problems := w.take(); len(problems) > 0 {
		found = append(found, fmt.Sprintf("%d browser console problems (errors, exceptions, CSP violations):\n  %s",
			len(problems), strings.Join(summarize(problems), "\n  ")))
	}
	return found, nil
}

// writeReport leaves the findings among the test's artifacts.
func (pc *pageChecks) writeReport() {
	body := "# Page states: browser problems, axe-core violations, phone width\n\n"
	if len(pc.findings) == 0 {
		body += "Nothing found.\n"
	} else {
		body += strings.Join(pc.findings, "\n\n") + "\n"
	}
	path := filepath.Join(pc.t.ArtifactDir(), "page-checks.md")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		pc.t.Error(err)
		return
	}
	pc.t.Logf("page checks: %s", path)
}

// screenshot saves a full-page PNG of what the browser shows among the
// test's artifacts (make test keeps them in test-output/_artifacts), and with
// -update-screenshots also as docs/screenshots/NAME.png for the README.
func (pc *pageChecks) screenshot(name string, forReadme bool) {
	pc.t.Helper()
	png, err := chromedp.Run(pc.ctx, chromedp.FullScreenshot(100)) // quality 100: PNG
	if err != nil {
		pc.t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(pc.t.ArtifactDir(), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		pc.t.Fatal(err)
	}
	if forReadme && *updateScreenshots {
		dir := filepath.Join(repoRoot(), "docs", "screenshots")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			pc.t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			pc.t.Fatal(err)
		}
	}
}
