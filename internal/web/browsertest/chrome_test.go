package browsertest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

var update = flag.Bool("update", false, "save the screenshots into docs/screenshots (also ENTRAIDE_SCREENSHOTS=1)")

// Every wait is bounded. A browser's life is bounded by browserLife; one
// step (a navigation, a click and the page it loads, a query) by stepTime.
// Both are generous for a loaded 2-core machine under -race: a step that
// needs more is a bug to look at, not a timeout to raise.
const (
	browserLife = 3 * time.Minute
	stepTime    = 20 * time.Second
)

// chromiumNames are the Debian packages' commands: chromium (the browser,
// run headless) and chromium-headless-shell.
var chromiumNames = []string{"chromium", "chromium-headless-shell"}

// chromiumPath finds the browser: $ENTRAIDE_CHROMIUM, else chromiumNames
// on the PATH.
func chromiumPath() (string, error) {
	if p := os.Getenv("ENTRAIDE_CHROMIUM"); p != "" {
		path, err := exec.LookPath(p)
		if err != nil {
			return "", fmt.Errorf("ENTRAIDE_CHROMIUM=%s: %v", p, err)
		}
		return path, nil
	}
	for _, name := range chromiumNames {
		if path, err := exec.LookPath(name); err == nil {
			return path, nil
		}
	}
	return "", fmt.Errorf("neither %s is on the PATH", strings.Join(chromiumNames, " nor "))
}

// inCI reports whether the tests run in CI (CI=true), where a browser test
// that cannot run fails instead of skipping.
func inCI() bool {
	ci, _ := strconv.ParseBool(os.Getenv("CI"))
	return ci
}

// needChromium returns the browser's path, or skips the test (fails it in
// CI) saying how to install one.
func needChromium(t *testing.T) string {
	t.Helper()
	path, err := chromiumPath()
	if err == nil {
		return path
	}
	msg := fmt.Sprintf("no Chromium to drive the console with: %v. Install Debian's chromium package "+
		"(scripts/setup does when the tests will run; apt-get install chromium), or set ENTRAIDE_CHROMIUM to the browser's path", err)
	if inCI() {
		t.Fatal(msg + " — CI=true: the browser tests must run")
	}
	t.Skip(msg)
	return ""
}

// browser is one headless Chromium, with a fresh profile, that accepts
// only the given certificates besides those it trusts (by their public
// keys: the nodes' self-signed certificates).
type browser struct {
	t   *testing.T
	ctx context.Context // the browser's context: people open tabs from it
	out *syncBuffer     // what Chromium printed, for failures
}

func startBrowser(t *testing.T, certs ...*x509.Certificate) *browser {
	t.Helper()
	path := needChromium(t)
	profile := t.TempDir() // removed after the browser is stopped (cleanups run last-in first-out)
	var spki []string
	for _, c := range certs {
		sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
		spki = append(spki, base64.StdEncoding.EncodeToString(sum[:]))
	}
	out := &syncBuffer{}
	life, stop := context.WithTimeout(context.Background(), browserLife)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(profile),
		chromedp.Headless,
		// Root in a container has no user namespaces for the sandbox.
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		// Nothing but the nodes on 127.0.0.1: no updates, no sync, no
		// background requests to anywhere.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-breakpad", true),
		chromedp.Flag("disable-client-side-phishing-detection", true),
		chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints,AutofillServerCommunication"),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("safebrowsing-disable-auto-update", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("force-color-profile", "srgb"),
		// The console follows the browser's language until a person
		// chooses: English here, whatever the machine's locale.
		chromedp.Flag("lang", "en-US"),
		chromedp.Flag("accept-lang", "en-US,en"),
		chromedp.Flag("ignore-certificate-errors-spki-list", strings.Join(spki, ",")),
		chromedp.WindowSize(1280, 900),
		chromedp.CombinedOutput(out),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(life, opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancel()
		cancelAlloc() // waits for the process to end
		stop()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v\n%s", path, err, out.tail())
	}
	return &browser{t: t, ctx: ctx, out: out}
}

// person is someone at a browser, logged in to one node's console (or
// not yet): a tab of their own in a browser context of their own, so
// that people never share cookies.
type person struct {
	t    *testing.T
	name string
	base string // the node's user listener, https://127.0.0.1:PORT
	ctx  context.Context
	out  *syncBuffer
}

func (b *browser) person(name, base string) *person {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	b.t.Cleanup(cancel)
	// The first run opens the tab and ties it to the context it is given:
	// the person's, bounded by the browser's life, not one step's.
	if err := chromedp.Do(ctx); err != nil {
		b.t.Fatalf("%s: opening a tab: %v\n%s", name, err, b.out.tail())
	}
	return &person{t: b.t, name: name, base: base, ctx: ctx, out: b.out}
}

// step runs one bounded step.
func (p *person) step(what string, f func(ctx context.Context) error) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTime)
	defer cancel()
	if err := f(ctx); err != nil {
		p.fail(what, err)
	}
}

// fail ends the test saying where the person was and what they saw, and
// keeps a screenshot of it among the test's artifacts.
func (p *person) fail(what string, err error) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	where, _ := chromedp.Run(ctx, chromedp.Location())
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	shot := ""
	if png, serr := chromedp.Run(ctx, chromedp.FullScreenshot(100)); serr == nil {
		shot = filepath.Join(p.t.ArtifactDir(), "failure-"+p.name+".png")
		if werr := os.WriteFile(shot, png, 0o644); werr != nil {
			shot = ""
		}
	}
	if len(text) > 3000 {
		text = text[:3000] + "…"
	}
	p.t.Fatalf("%s: %s: %v\nat %s (screenshot %s)\n--- page text ---\n%s\n--- browser output ---\n%s", p.name, what, err, where, shot, text, p.out.tail())
}

// do runs actions that return nothing, as one step.
func (p *person) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	p.step(what, func(ctx context.Context) error { return chromedp.Do(ctx, actions...) })
}

// load runs actions that make the browser load a page (a link, a form's
// button, a navigation) and waits for it; it returns the page's HTTP
// status (after redirects).
func (p *person) load(what string, actions ...chromedp.Action[chromedp.Void]) int64 {
	p.t.Helper()
	var resp *network.Response
	p.step(what, func(ctx context.Context) error {
		var err error
		resp, err = chromedp.RunResponse(ctx, actions...)
		if err == nil && resp == nil {
			err = errors.New("no response")
		}
		return err
	})
	return resp.Status
}

// open goes to a path of the node, expecting a 200 page.
func (p *person) open(path string) {
	p.t.Helper()
	if st := p.load("opening "+path, chromedp.Navigate(p.base+path)); st != 200 {
		p.fail("opening "+path, fmt.Errorf("HTTP %d", st))
	}
}

// click clicks the element that has data-testid id and waits for the page
// it loads (a link or a form's button), expecting a 200 page.
func (p *person) click(id string) {
	p.t.Helper()
	if st := p.load("clicking "+id, chromedp.Click(testid(id))); st != 200 {
		p.fail("clicking "+id, fmt.Errorf("HTTP %d", st))
	}
}

// testid is the CSS selector of the elements with a data-testid.
func testid(id string) chromedp.CSS {
	return chromedp.CSS(fmt.Sprintf(`[data-testid=%q]`, id))
}

// eval evaluates a JavaScript expression in the page, as a step.
func eval[T any](p *person, what, expr string) T {
	p.t.Helper()
	var v T
	p.step(what, func(ctx context.Context) error {
		var err error
		v, err = chromedp.Run(ctx, chromedp.Evaluate[T](expr))
		return err
	})
	return v
}

// js quotes a string for JavaScript.
func js(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// count is how many elements of the page have data-testid id.
func (p *person) count(id string) int {
	p.t.Helper()
	return eval[int](p, "counting "+id, `document.querySelectorAll(`+js(fmt.Sprintf(`[data-testid=%q]`, id))+`).length`)
}

// countWith is how many elements match a CSS selector.
func (p *person) countWith(css string) int {
	p.t.Helper()
	return eval[int](p, "counting "+css, `document.querySelectorAll(`+js(css)+`).length`)
}

// text is the text of the first element with data-testid id, "" when
// there is none.
func (p *person) text(id string) string {
	p.t.Helper()
	return eval[string](p, "reading "+id, `(e => e ? e.innerText.trim() : "")(document.querySelector(`+js(fmt.Sprintf(`[data-testid=%q]`, id))+`))`)
}

// pageText is the text of the whole page as the person reads it.
func (p *person) pageText() string {
	p.t.Helper()
	return eval[string](p, "reading the page", `document.body.innerText`)
}

// html is the page's markup, attributes included: what the server sent
// and the page made of it.
func (p *person) html() string {
	p.t.Helper()
	return eval[string](p, "reading the markup", `document.documentElement.outerHTML`)
}

// path is where the browser is, without the node's address.
func (p *person) path() string {
	p.t.Helper()
	return strings.TrimPrefix(eval[string](p, "reading the location", `location.href`), p.base)
}

// must fails the test, with the page, unless ok.
func (p *person) must(ok bool, format string, args ...any) {
	p.t.Helper()
	if !ok {
		p.fail(fmt.Sprintf(format, args...), errors.New("check failed"))
	}
}

// login logs in with the login form, as a person types it.
func (p *person) login(password string) {
	p.t.Helper()
	p.open("/console/login")
	p.do("typing the name and password",
		chromedp.WaitVisible(testid("login-form")),
		chromedp.SendKeys(chromedp.ID("login-name"), p.name),
		chromedp.SendKeys(chromedp.ID("login-password"), password))
	p.click("login-submit")
	p.must(p.count("login-error") == 0, "the login was refused: %s", p.text("login-error"))
	p.must(p.text("whoami") != "", "logged in, but no whoami on %s", p.path())
}

// post submits, from the page the person is on, a form the page does not
// offer (as a crafted page or a stale tab would): the console must refuse
// what the role may not do, whatever the page showed. It returns the
// HTTP status of the answer.
func (p *person) post(path string, fields map[string]string) int64 {
	p.t.Helper()
	var b strings.Builder
	b.WriteString(`(() => { const f = document.createElement("form"); f.method = "post"; f.action = ` + js(path) + `;`)
	for k, v := range fields {
		b.WriteString(` { const i = document.createElement("input"); i.type = "hidden"; i.name = ` + js(k) + `; i.value = ` + js(v) + `; f.appendChild(i); }`)
	}
	b.WriteString(` document.body.appendChild(f); f.submit(); })()`)
	return p.load("posting to "+path, chromedp.Evaluate[chromedp.Void](b.String()))
}

// shots is where screenshots go: docs/screenshots with -update (or
// ENTRAIDE_SCREENSHOTS=1), else the test's artifact directory.
func shots(t *testing.T) string {
	if save, _ := strconv.ParseBool(os.Getenv("ENTRAIDE_SCREENSHOTS")); *update || save {
		return filepath.Join("..", "..", "..", "docs", "screenshots")
	}
	return t.ArtifactDir()
}

// screenshot saves the whole page as NAME.png.
func (p *person) screenshot(dir, name string) {
	p.t.Helper()
	var png []byte
	p.step("screenshot "+name, func(ctx context.Context) error {
		// The page is laid out and its fonts are in before the picture.
		if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`document.fonts.ready.then(() => true)`, awaitPromise)); err != nil {
			return err
		}
		var err error
		png, err = chromedp.Run(ctx, chromedp.FullScreenshot(100))
		return err
	})
	if !bytes.HasPrefix(png, []byte("\x89PNG")) {
		p.t.Fatalf("screenshot %s: not a PNG", name)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// awaitPromise makes Evaluate wait for the promise the expression gives.
func awaitPromise(p *runtime.EvaluateParams) { p.AwaitPromise = new(true) }

// syncBuffer keeps the end of what Chromium prints.
type syncBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > 64<<10 {
		b.buf = append(b.buf[:0:0], b.buf[len(b.buf)-32<<10:]...)
	}
	return len(p), nil
}

// tail is the end of what Chromium printed, without its complaints about
// the D-Bus a container does not have.
func (b *syncBuffer) tail() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var lines []string
	for _, l := range strings.Split(string(b.buf), "\n") {
		if !strings.Contains(l, ":ERROR:dbus/") {
			lines = append(lines, l)
		}
	}
	s := strings.Join(lines, "\n")
	if len(s) > 4000 {
		s = "…" + s[len(s)-4000:]
	}
	return s
}
