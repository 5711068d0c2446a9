// Package browsertest drives the web console (internal/web) in a real
// browser: Debian's Chromium, headless, through the DevTools protocol
// (chromedp). It holds tests only.
//
// The tests start a federation of two nodes in the process
// (internal/federation/fedtest), serve each node's user listener as
// `entraide serve` does (the console under /console/, the JSON API and
// TAXII, over TLS with the node's own certificate, which the browser is
// told to accept by its public key), give each node people with roles,
// and then work as those people would: log in, acknowledge an alert from
// the other node, answer a ping by typing its code, open an incident,
// switch to French, log out. They check that what one node's person does
// reaches the other node through the workflow engine, that a viewer is
// offered no action and is refused one, and that the console shows no
// one what the sharing rules withhold from them (collection permissions,
// TLP:RED for named people only).
//
// The browser is found as chromium or chromium-headless-shell on the PATH
// (scripts/setup installs Debian's chromium), or at $ENTRAIDE_CHROMIUM.
// Without one the tests skip, except under CI=true, where they fail.
//
// Screenshots of the main pages are saved on every run: into
// docs/screenshots/ with -update (or ENTRAIDE_SCREENSHOTS=1), else into
// the test's artifact directory (go test -artifacts keeps them). They are
// pictures for people; nothing compares them.
//
//	go test ./internal/web/browsertest/
//	go test ./internal/web/browsertest/ -update   # refresh docs/screenshots
//
// The three tests run in parallel, each with its federation and its
// browser; every wait is bounded (a step, a delivery, the browser's life).
package browsertest
