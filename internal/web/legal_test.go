package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/preservation"
)

// Budapest Art. 30 in the console. FR asks DE to preserve data; DE's
// liaison officer answers with a partial preservation that names a
// provider in Latvia; at FR the request's page shows the disclosure, and
// FR's liaison officer chains, in one action, a request to LV's node —
// prefilled from the original and the disclosure, linked to both — which
// LV receives. An analyst (who reads legal requests but does not act on
// them) and DE (not the requesting Party) cannot chain; a chain to the
// requested Party itself is refused with the engine's words.
func TestLegalDisclosureAndChain(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(start)
	fed, nodes := startConsoles(t, clk, "fr", "de", "lv")
	fr, de, lv := nodes["fr"], nodes["de"], nodes["lv"]
	res, err := fr.Workflow.Open(ctx, preservation.KindName, "alice", mustJSON(t, map[string]any{
		"to": []string{"cert-de"}, "tlp": "amber+strict", "requesting_authority": "Parquet de Paris, J3 cybercrime section",
		"offence": "Extortion by ransomware (Art. 312-1 Code pénal)", "facts": "Hospital encrypted on 1 March; ransom note names a leak site.",
		"stored_data": "Subscriber data and access logs of the leak site's hosting account", "relation": "The site published the stolen records",
		"custodian": "Example Hosting GmbH", "reason": "Logs are kept 7 days", "mla_intent": true, "target_country": "DE"}))
	if err != nil {
		t.Fatal(err)
	}
	id := res.ID
	fed.WaitFor("the request at DE", 10*time.Second, func() bool {
		_, err := de.Workflow.Get(ctx, id)
		return err == nil
	})

	// DE answers: a partial preservation naming a provider in LV.
	deLiaison := de.b()
	deLiaison.login("liaison")
	pg := deLiaison.get("/console/cases/" + id)
	for _, f := range []string{"f-partial-provider_country", "f-partial-provider", "f-partial-provider_note", "f-disclose-provider", "f-execute-provider"} {
		if count(pg.body, f) != 1 {
			t.Fatalf("DE's request page lacks the disclosure field %s:\n%s", f, pg.body)
		}
	}
	if count(pg.body, "chain-form") != 0 {
		t.Fatal("DE, the requested Party, is offered to chain")
	}
	if pg := deLiaison.post("/console/cases/"+id+"/disclose", url.Values{"provider": {"Baltic Hosting SIA"}}); pg.status != http.StatusBadRequest ||
		!strings.Contains(pg.body, "An Art. 30 disclosure needs the provider") {
		t.Fatalf("a disclosure without a country: %d\n%s", pg.status, pg.body)
	}
	clk.Advance(30 * time.Minute)
	pg = deLiaison.post("/console/cases/"+id+"/partial", url.Values{"preserved": {"Access logs of the account"},
		"not_preserved": {"Subscriber data: the account was paid from a reseller in Latvia"}, "preserved_until": {"90d"},
		"reference": {"BKA-2026-0417"}, "provider_country": {"lv"}, "provider": {"Baltic Hosting SIA"},
		"provider_note": {"AS 64500, 198.51.100.0/24; the reseller's panel logs"}})
	if pg.status != http.StatusSeeOther || pg.location() != "/console/cases/"+id+"?done=acted" {
		t.Fatalf("partial with a disclosure: %d %q\n%s", pg.status, pg.location(), pg.body)
	}
	var step string
	fed.WaitFor("the disclosure at FR", 10*time.Second, func() bool {
		v, err := fr.Workflow.Get(ctx, id)
		if err != nil {
			return false
		}
		var d preservation.View
		if json.Unmarshal(v.Detail, &d) == nil && len(d.Disclosures) == 1 {
			step = d.Disclosures[0].Step
		}
		return step != ""
	})

	// FR's liaison officer, in French: the disclosure, and the chain to LV.
	frLiaison := fr.b()
	frLiaison.lang = "fr"
	frLiaison.login("liaison")
	pg = frLiaison.get("/console/cases/" + id)
	if pg.status != 200 || count(pg.body, "disclosure-row") != 1 || !strings.Contains(pg.body, `data-country="LV"`) ||
		!strings.Contains(text(pg.body), "Baltic Hosting SIA") || count(pg.body, "chain-form") != 1 ||
		!strings.Contains(pg.body, `<option value="cert-lv">`) || !strings.Contains(text(pg.body), "Demander aussi la conservation des données à LV") ||
		!strings.Contains(pg.body, "Divulgations de l&#39;art. 30") {
		t.Fatalf("FR's request page (fr):\n%s", pg.body)
	}
	checkStrict(t, "legal request with a disclosure", pg)

	// Who may not chain: FR's analyst (no legal action), DE (not the requester).
	frAnalyst := fr.b()
	frAnalyst.login("analyst")
	if pg := frAnalyst.get("/console/cases/" + id); count(pg.body, "chain-form") != 0 || count(pg.body, "disclosure-row") != 1 {
		t.Errorf("FR analyst's request page: %d chain forms, %d disclosures", count(pg.body, "chain-form"), count(pg.body, "disclosure-row"))
	}
	chain := url.Values{"step": {step}, "to": {"cert-lv"}}
	if pg := frAnalyst.post("/console/cases/"+id+"/chain", chain); pg.status != http.StatusForbidden {
		t.Errorf("FR analyst chains: %d", pg.status)
	}
	if pg := deLiaison.post("/console/cases/"+id+"/chain", chain); pg.status != http.StatusForbidden ||
		!strings.Contains(text(pg.body), "only the requesting node chains") {
		t.Errorf("DE chains: %d\n%s", pg.status, pg.body)
	}
	// Back to the requested Party itself: the engine says why not.
	if pg := frLiaison.post("/console/cases/"+id+"/chain", url.Values{"step": {step}, "to": {"cert-de"}}); pg.status != http.StatusBadRequest ||
		!strings.Contains(text(pg.body), "was sent to DE already") {
		t.Errorf("a chain to DE: %d\n%s", pg.status, pg.body)
	}
	if v, _ := fr.Workflow.List(ctx, preservation.KindName, false, 10); len(v) != 1 {
		t.Fatalf("refused chains opened requests: %d requests", len(v))
	}

	// The chain, in one action.
	clk.Advance(20 * time.Minute)
	pg = frLiaison.post("/console/cases/"+id+"/chain", chain)
	if pg.status != http.StatusSeeOther || !strings.HasSuffix(pg.location(), "?done=chained") {
		t.Fatalf("chain: %d %q\n%s", pg.status, pg.location(), pg.body)
	}
	newID := strings.TrimSuffix(strings.TrimPrefix(pg.location(), "/console/cases/"), "?done=chained")
	pg = frLiaison.get(pg.location())
	if pg.status != 200 || count(pg.body, "flash") != 1 || count(pg.body, "chained-from") != 1 || !strings.Contains(pg.body, id) ||
		!strings.Contains(pg.body, `data-tlp="TLP:AMBER&#43;STRICT"`) {
		t.Fatalf("the chained request's page:\n%s", pg.body)
	}
	v, err := fr.Workflow.Get(ctx, newID)
	if err != nil {
		t.Fatal(err)
	}
	var nv preservation.View
	if err := json.Unmarshal(v.Detail, &nv); err != nil {
		t.Fatal(err)
	}
	if nv.TargetCountry != "LV" || nv.Target != fed.ID("lv") || nv.ChainedFromRef != step || nv.ChainedFromCaseRef != id {
		t.Fatalf("the chained request: %+v", nv)
	}
	if len(v.Timeline) != 0 || v.Origin.ID != fed.ID("fr") {
		t.Fatalf("the chained request's case: %+v", v)
	}
	var props map[string]json.RawMessage
	_ = json.Unmarshal(v.Case, &props)
	if !strings.Contains(string(props["custodian"]), "Baltic Hosting SIA") || !strings.Contains(string(props["offence"]), "312-1") {
		t.Errorf("the chained request is not prefilled: %s", v.Case)
	}
	fed.WaitFor("the chained request at LV", 10*time.Second, func() bool {
		_, err := lv.Workflow.Get(ctx, newID)
		return err == nil
	})
	pg = frLiaison.get("/console/cases/" + id)
	if count(pg.body, "chained-row") != 1 || !strings.Contains(pg.body, `data-case="`+newID+`"`) {
		t.Errorf("the original does not list the chained request:\n%s", pg.body)
	}
	// The chain is audited as made in the console.
	consoleShares(t, fr.Fed, "liaison", 1)
}
