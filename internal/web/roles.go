package web

import "github.com/entraide/entraide/internal/store"

// Cap is something a person may see or do in the console. Every page and
// every action asks for one; the table below says which roles hold it, and
// nothing else grants it (docs/console.md prints the same table).
type Cap string

// The capabilities.
const (
	CapOverview     Cap = "overview"      // the overview: deadlines, alerts to acknowledge, incidents, federation health
	CapAlerts       Cap = "alerts"        // alerts received and sent, their detail
	CapAlertsAct    Cap = "alerts.act"    // send, acknowledge and close alerts
	CapIncidents    Cap = "incidents"     // incidents, their timeline, tasks, participants
	CapIncidentsAct Cap = "incidents.act" // open and update incidents
	CapAssist       Cap = "assist"        // mutual assistance requests
	CapAssistAct    Cap = "assist.act"    // request, offer, accept, decline, close
	CapLegal        Cap = "legal"         // Budapest preservation requests (law-enforcement matters)
	CapLegalAct     Cap = "legal.act"     // request preservation, answer, extend
	CapNotices      Cap = "notices"       // due-diligence notices
	CapNoticesAct   Cap = "notices.act"   // send and answer notices
	CapContacts     Cap = "contacts"      // the points-of-contact directory and pings
	CapPingAnswer   Cap = "ping.answer"   // answer a ping addressed to this node
	CapPingSend     Cap = "ping.send"     // ping a partner's point of contact
	CapIntel        Cap = "intel"         // browse STIX objects (still under collection permissions and TLP)
	CapIntelAct     Cap = "intel.act"     // share this node's objects to its communities (under the sharing policy)
	CapPeers        Cap = "peers"         // peers and communities
	CapAudit        Cap = "audit"         // the audit log and its verification
	CapSharing      Cap = "sharing"       // the sharing report: what went to whom under which marking
)

// roleCaps is the table: which roles hold which capability. An admin
// holds everything; a viewer reads the cooperation pages but acts on none.
// Legal requests are law-enforcement matters: viewers do not see them,
// and only liaison officers (the 24/7 points of contact) and admins act.
var roleCaps = map[Cap][]string{
	CapOverview:     {store.RoleAdmin, store.RoleAnalyst, store.RoleLiaison, store.RoleViewer},
	CapAlerts:       {store.RoleAdmin, store.RoleAnalyst, store.RoleLiaison, store.RoleViewer},
	CapAlertsAct:    {store.RoleAdmin, store.RoleAnalyst, store.RoleLiaison},
	CapIncidents:    {store.RoleAdmin, store.RoleAnalyst, store.RoleLiaison, store.RoleViewer},
	CapIncidentsAct: {store.RoleAdmin, store.RoleAnalyst},
	CapAssist:       {store.RoleAdmin, store.RoleAnalyst, store.RoleLiaison, store.RoleViewer},
	CapAssistAct:    {store.RoleAdmin, store.RoleAnalyst},
	CapLegal:        {store.RoleAdmin, store.RoleAnalyst, store.RoleLiaison},
	CapLegalAct:     {store.RoleAdmin, store.RoleLiaison},
	CapNotices:      {store.RoleAdmin, store.RoleAnalyst, store.RoleLiaison, store.RoleViewer},
	CapNoticesAct:   {store.RoleAdmin, store.RoleAnalyst, store.RoleLiaison},
	CapContacts:     {store.RoleAdmin, store.RoleAnalyst, store.RoleLiaison, store.RoleViewer},
	CapPingAnswer:   {store.RoleAdmin, store.RoleAnalyst, store.RoleLiaison},
	CapPingSend:     {store.RoleAdmin, store.RoleLiaison},
	CapIntel:        {store.RoleAdmin, store.RoleAnalyst, store.RoleLiaison, store.RoleViewer},
	CapIntelAct:     {store.RoleAdmin, store.RoleAnalyst},
	CapPeers:        {store.RoleAdmin, store.RoleAnalyst},
	CapAudit:        {store.RoleAdmin},
	CapSharing:      {store.RoleAdmin, store.RoleAnalyst},
}

// Caps lists every capability in the table's order, for tests and docs.
var Caps = []Cap{CapOverview, CapAlerts, CapAlertsAct, CapIncidents, CapIncidentsAct, CapAssist, CapAssistAct,
	CapLegal, CapLegalAct, CapNotices, CapNoticesAct, CapContacts, CapPingAnswer, CapPingSend, CapIntel, CapIntelAct, CapPeers,
	CapAudit, CapSharing}

// Can reports whether role holds c. An unknown role or capability holds
// nothing.
func Can(role string, c Cap) bool {
	for _, r := range roleCaps[c] {
		if r == role {
			return true
		}
	}
	return false
}

// kindCaps are the capabilities of each workflow kind: to see its cases,
// and to act on them.
var kindCaps = map[string][2]Cap{
	"alert":        {CapAlerts, CapAlertsAct},
	"incident":     {CapIncidents, CapIncidentsAct},
	"assist":       {CapAssist, CapAssistAct},
	"preservation": {CapLegal, CapLegalAct},
	"notice":       {CapNotices, CapNoticesAct},
	"ping":         {CapContacts, CapPingAnswer},
}

// canSeeKind: an unknown kind is seen by admins only.
func canSeeKind(role, kind string) bool {
	c, ok := kindCaps[kind]
	if !ok {
		return role == store.RoleAdmin
	}
	return Can(role, c[0])
}

func canActKind(role, kind string) bool {
	c, ok := kindCaps[kind]
	if !ok {
		return role == store.RoleAdmin
	}
	return Can(role, c[1])
}
