package web_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/stix"
)

// The administrator's pages on FR after an alert to DE: the peers and
// communities with the federation grid, the sharing report (the alert,
// AMBER, delivered to DE), the audit log and its verification.
func TestAdminPages(t *testing.T) {
	p := newPair(t)
	p.fed.Community("fr-de", stix.TLPAmber, "fr", "de")
	id := p.openAlert(t, "Shared for the report", "")
	admin := p.fr.b()
	admin.login("admin")
	p.fed.WaitFor("the delivery to DE recorded", 10*time.Second, func() bool {
		return strings.Contains(admin.get("/console/sharing").body, `data-testid="sharing-row"`) &&
			!strings.Contains(admin.get("/console/sharing").body, "pending (attempts")
	})

	pg := admin.get("/console/peers")
	checkStrict(t, "peers", pg)
	if pg.status != 200 || count(pg.body, "peer-row") != 1 || !strings.Contains(pg.body, `data-peer="cert-de"`) ||
		count(pg.body, "community-row") != 1 || count(pg.body, "chart-federation") != 1 || !strings.Contains(text(pg.body), "cert-fr, cert-de") && !strings.Contains(text(pg.body), "cert-de, cert-fr") {
		t.Fatalf("peers page:\n%s", pg.body)
	}

	pg = admin.get("/console/sharing")
	checkStrict(t, "sharing", pg)
	if count(pg.body, "sharing-row") != 1 || !strings.Contains(pg.body, id) || !strings.Contains(pg.body, `data-tlp="TLP:AMBER"`) ||
		count(pg.body, "sharing-summary-row") != 1 {
		t.Fatalf("sharing report:\n%s", pg.body)
	}
	if pg := admin.get("/console/sharing?peer=cert-nowhere"); pg.status != http.StatusNotFound {
		t.Errorf("sharing report of an unknown peer: %d", pg.status)
	}
	p.clk.Advance(8 * 24 * time.Hour / 7) // still within the week
	admin.login("admin")                  // the session has gone idle meanwhile
	if pg := admin.get("/console/sharing?days=1"); count(pg.body, "sharing-row") != 0 || count(pg.body, "sharing-empty") != 1 {
		t.Errorf("sharing report of the last day, after more than a day:\n%s", pg.body)
	}

	pg = admin.get("/console/audit")
	checkStrict(t, "audit", pg)
	if pg.status != 200 || count(pg.body, "audit-row") == 0 || count(pg.body, "audit-verify") != 1 || !strings.Contains(pg.body, `data-kind="send"`) {
		t.Fatalf("audit page:\n%s", pg.body)
	}
	pg = admin.get("/console/audit?verify=1")
	if count(pg.body, "audit-ok") != 1 {
		t.Fatalf("audit verification:\n%s", pg.body)
	}
	if pg := admin.get("/console/audit?before=0"); pg.status != 200 {
		t.Errorf("audit before=0: %d", pg.status)
	}
}
