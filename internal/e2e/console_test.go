package e2e

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// A browser problem is anything a person's browser would complain about: a
// console error, an uncaught exception or unhandled rejection, a browser log
// error (a resource that failed to load, a blocked request) or a Content
// Security Policy violation. Every browser test fails on any of them.
type browserProblem struct {
	Kind string // "console", "exception", "log (SOURCE)", "csp"
	Text string
	URL  string // where it came from: the script, the resource or the document
}

func (p browserProblem) String() string {
	s := p.Kind + ": " + shorten(p.Text, 300)
	if p.URL != "" && !strings.Contains(p.Text, p.URL) {
		s += " [" + shorten(p.URL, 120) + "]"
	}
	return s
}

// cspReporter runs in every document before the page's own scripts (the
// DevTools protocol adds it, so the page's CSP does not block it) and turns
// each securitypolicyviolation event into a console error the watcher
// recognises: Chromium also logs most violations itself, but this event is
// the one the CSP specification promises for every violation, and it names
// the directive and the blocked URL.
const cspReporter = `addEventListener('securitypolicyviolation', function (e) {
  console.error('` + cspPrefix + `' + e.effectiveDirective + ' blocked ' + (e.blockedURI || '(inline)') +
    ' in ' + (e.sourceFile || document.location.href) + (e.lineNumber ? ':' + e.lineNumber : ''));
}, true);`

const cspPrefix = "securitypolicyviolation: "

// consoleWatch collects the browser problems of one tab as they happen.
type consoleWatch struct {
	mu       sync.Mutex
	problems []browserProblem
	allowed  []string                 // error pages a test asked for (see expectErrorPage)
	marks    map[string]chan struct{} // barriers waiting to be seen (see settle)
	barriers int
}

// watchConsole starts collecting the problems of ctx's tab; ctx must not
// have run anything yet, so nothing is missed. It starts the browser.
func watchConsole(t *testing.T, ctx context.Context) *consoleWatch {
	t.Helper()
	w := &consoleWatch{marks: map[string]chan struct{}{}}
	messages := chromedp.Console(ctx) // subscribes now: nothing after this is lost
	if _, err := chromedp.Run(ctx, addScriptToEveryDocument(cspReporter)); err != nil {
		t.Fatalf("install the CSP violation reporter: %v", err)
	}
	go func() {
		for m, err := range messages {
			if err != nil {
				return // the context ended
			}
			if m.Type == chromedp.ConsoleDebug && strings.HasPrefix(m.Text, barrierPrefix) {
				w.mu.Lock()
				if ch, ok := w.marks[m.Text]; ok {
					close(ch)
					delete(w.marks, m.Text)
				}
				w.mu.Unlock()
				continue
			}
			if p, ok := problemOf(m); ok {
				w.mu.Lock()
				w.problems = append(w.problems, p)
				w.mu.Unlock()
			}
		}
	}()
	return w
}

func addScriptToEveryDocument(source string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: source})
		return chromedp.Void{}, err
	}
}

// problemOf says whether a console message is a problem, and which.
// Warnings, info and logs are not: the browser is allowed to have opinions.
func problemOf(m chromedp.ConsoleMessage) (browserProblem, bool) {
	switch {
	case m.IsException():
		return browserProblem{Kind: "exception", Text: m.Text, URL: m.URL}, true
	case m.Type == chromedp.ConsoleError && strings.HasPrefix(m.Text, cspPrefix):
		return browserProblem{Kind: "csp", Text: strings.TrimPrefix(m.Text, cspPrefix)}, true
	case m.Type == chromedp.ConsoleError && m.Source != "":
		return browserProblem{Kind: "log (" + m.Source + ")", Text: m.Text, URL: m.URL}, true
	case m.Type == chromedp.ConsoleError || m.Type == "assert":
		return browserProblem{Kind: "console", Text: m.Text, URL: m.URL}, true
	}
	return browserProblem{}, false
}

// expectErrorPage allows the one "Failed to load resource" log entry that
// Chromium writes when a document comes back with an error status the test
// asked for (a 404 page, a form sent back with 422, a 409 conflict page): the
// status is the product telling the truth, not a broken page. Each call
// allows one such entry for exactly that URL.
func (w *consoleWatch) expectErrorPage(url string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.allowed = append(w.allowed, url)
}

func (w *consoleWatch) isAllowed(p browserProblem) bool {
	if p.Kind != "log (network)" || !strings.HasPrefix(p.Text, "Failed to load resource: the server responded with a status of ") {
		return false
	}
	for i, url := range w.allowed {
		if p.URL == url {
			w.allowed = append(w.allowed[:i:i], w.allowed[i+1:]...)
			return true
		}
	}
	return false
}

const barrierPrefix = "e2e-barrier "

// settle waits until the page has rendered and every message the tab sent
// until then has been collected: the tab logs a marker after two animation
// frames, and messages arrive in order.
func (w *consoleWatch) settle(t *testing.T, ctx context.Context) {
	t.Helper()
	w.mu.Lock()
	w.barriers++
	mark := fmt.Sprintf("%s%d", barrierPrefix, w.barriers)
	seen := make(chan struct{})
	w.marks[mark] = seen
	w.mu.Unlock()
	// Two animation frames first: whatever the last change to the page
	// makes the browser load (and block) has been requested by then.
	script := `new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() => { console.debug(` + strconv.Quote(mark) + `); done(); })))`
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](script, chromedp.EvalAwaitPromise)); err != nil {
		t.Fatalf("settle the console: %v", err)
	}
	select {
	case <-seen:
	case <-time.After(5 * time.Second):
		t.Fatal("the browser console did not deliver a marker within 5 s")
	}
}

// take returns the problems collected since the last take, and forgets them.
func (w *consoleWatch) take() []browserProblem {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []browserProblem
	for _, p := range w.problems {
		if !w.isAllowed(p) {
			out = append(out, p)
		}
	}
	w.problems = nil
	return out
}

// summarize lists problems once each, with how many times each happened, so
// 300 blocked icons read as one line.
func summarize(problems []browserProblem) []string {
	counts := map[string]int{}
	var order []string
	for _, p := range problems {
		s := p.String()
		if counts[s] == 0 {
			order = append(order, s)
		}
		counts[s]++
	}
	out := make([]string, 0, len(order))
	for _, s := range order {
		if n := counts[s]; n > 1 {
			s = fmt.Sprintf("%s (×%d)", s, n)
		}
		out = append(out, s)
	}
	return out
}

// failOnProblems fails t when the tab had any problem since the last take.
func (w *consoleWatch) failOnProblems(t *testing.T, ctx context.Context, where string) {
	t.Helper()
	w.settle(t, ctx)
	problems := w.take()
	if len(problems) == 0 {
		return
	}
	t.Errorf("%s: %d browser console problems (errors, exceptions, CSP violations):\n  %s",
		where, len(problems), strings.Join(summarize(problems), "\n  "))
}

// dataURI matches the body of a quoted data: URI in a browser message (it
// can be kilobytes long and holds quotes of its own): up to the quote that
// ends it, before " violates" or the end of the message.
var dataURI = regexp.MustCompile(`(data:[^,]{0,40},).*?('(?: violates|$))`)

func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	s = dataURI.ReplaceAllString(s, "${1}…${2}")
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
