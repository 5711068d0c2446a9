package web

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/entraide/entraide/internal/audit"
	"github.com/entraide/entraide/internal/federation"
	"github.com/entraide/entraide/internal/store"
)

// ---- peers and communities ----

type peerRow struct {
	federation.PeerStatus
	Org, Country string
	Keys         int
	Added        time.Time
}

type communityRow struct {
	store.Community
	MemberNames []string
	Self        bool
}

type peersData struct {
	Self        NodeInfo
	Peers       []peerRow
	Communities []communityRow
	Grid        *svgChart
}

// peers shows the pinned partners with their state, and the communities
// with their members and policy.
func (s *Server) peers(w http.ResponseWriter, r *http.Request, q *req) error {
	ctx := r.Context()
	status, err := s.fed.Status(ctx)
	if err != nil {
		return err
	}
	ps, err := s.st.Peers(ctx)
	if err != nil {
		return err
	}
	byID := map[string]store.Peer{}
	for _, p := range ps {
		byID[p.IdentityID] = p
	}
	d := peersData{Self: s.node}
	for _, st := range status {
		p := byID[st.IdentityID]
		d.Peers = append(d.Peers, peerRow{PeerStatus: st, Org: p.Organisation, Country: p.Country, Keys: len(p.Keys), Added: p.Added})
	}
	cs, err := s.st.Communities(ctx)
	if err != nil {
		return err
	}
	self := s.wf.Self()
	for _, c := range cs {
		row := communityRow{Community: c}
		for _, m := range c.Members {
			row.MemberNames = append(row.MemberNames, s.wf.NodeName(m))
			row.Self = row.Self || m == self
		}
		slices.Sort(row.MemberNames)
		d.Communities = append(d.Communities, row)
	}
	d.Grid = federationGrid(q.c, s.node, d.Peers)
	v := s.newView(r, q, q.c, "peers")
	v.Title = q.c.T("peers.title")
	v.Data = d
	s.render(w, http.StatusOK, v)
	return nil
}

// federationGrid draws the federation as a grid of tiles: this node, and
// every peer coloured by its state (reachable, unreachable, audit log
// forked), with its country and queue.
func federationGrid(cat *catalogue, self NodeInfo, peers []peerRow) *svgChart {
	const tileW, tileH, gap, perRow = 128, 64, 10, 6
	n := len(peers) + 1
	rows := (n + perRow - 1) / perRow
	cols := min(n, perRow)
	c := &svgChart{ID: "chart-federation", Title: cat.T("chart.grid.title"), Width: cols*(tileW+gap) + gap, Height: rows*(tileH+gap) + gap}
	up := 0
	tile := func(i int, name, country, class, line string) {
		x, y := gap+(i%perRow)*(tileW+gap), gap+(i/perRow)*(tileH+gap)
		c.Bars = append(c.Bars, svgBar{X: x, Y: y, W: tileW, H: tileH, Class: "tile " + class, Tip: name + " (" + country + "): " + line})
		c.Labels = append(c.Labels, svgText{X: x + 8, Y: y + 20, Text: name, Class: "tile-name"},
			svgText{X: x + tileW - 8, Y: y + 20, Text: country, Anchor: "end", Class: "tile-country"},
			svgText{X: x + 8, Y: y + 44, Text: line, Class: "tile-line"})
	}
	tile(0, self.Name, self.Country, "self", cat.T("chart.grid.self"))
	for i, p := range peers {
		class, line := "up", cat.T("peer.up")
		switch {
		case p.Forks > 0:
			class, line = "forked", cat.T("peer.forked", p.Forks)
		case !p.Reachable:
			class, line = "down", cat.T("peer.down")
		default:
			up++
		}
		if p.Queue.Pending > 0 {
			line += " · " + cat.T("chart.grid.queue", p.Queue.Pending)
		}
		tile(i+1, p.Name, p.Country, class, line)
	}
	c.Desc = cat.T("chart.grid.desc", up, len(peers))
	return c
}

// ---- audit ----

const auditPage = 50

type auditData struct {
	Size       int64
	Entries    []audit.Entry // newest first
	From       int64         // the first seq shown
	Older      string        // URL of the older page
	Newer      string
	Checkpoint *audit.StoredCheckpoint
	Verified   *audit.Report
}

// auditLog shows the tamper-evident log, newest first, a page at a time;
// verify=1 recomputes the tree and checks every signed checkpoint and
// cosignature (it reads the whole log: on demand only).
func (s *Server) auditLog(w http.ResponseWriter, r *http.Request, q *req) error {
	ctx := r.Context()
	l := s.fed.Audit()
	if l == nil {
		return notFound()
	}
	size, err := l.Size(ctx)
	if err != nil {
		return err
	}
	d := auditData{Size: size}
	end := size // exclusive
	if v, err := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64); err == nil && v >= 0 && v < size {
		end = v
	}
	d.From = max(0, end-auditPage)
	if end > 0 {
		es, err := l.Entries(ctx, audit.Query{From: d.From, Limit: int(end - d.From)})
		if err != nil {
			return err
		}
		slices.Reverse(es)
		d.Entries = es
	}
	if d.From > 0 {
		d.Older = Prefix + "audit?before=" + strconv.FormatInt(d.From, 10)
	}
	if end < size {
		d.Newer = Prefix + "audit"
		if end+auditPage < size {
			d.Newer += "?before=" + strconv.FormatInt(end+auditPage, 10)
		}
	}
	switch cp, err := l.LatestCheckpoint(ctx); {
	case err == nil:
		d.Checkpoint = &cp
	case !errors.Is(err, audit.ErrNotFound):
		return err
	}
	if r.URL.Query().Get("verify") == "1" {
		rep, err := l.Verify(ctx)
		if err != nil {
			return err
		}
		s.log.Info("console: audit log verified", "user", q.u.Name, "ok", rep.OK(), "problems", len(rep.Problems))
		d.Verified = &rep
	}
	v := s.newView(r, q, q.c, "audit")
	v.Title = q.c.T("audit.title")
	v.Data = d
	s.render(w, http.StatusOK, v)
	return nil
}

// ---- sharing report ----

const sharingMax = 500

type shareRow struct {
	store.ShareRecord
	PeerName string
}

type sharingCell struct {
	Peer  string
	ByTLP map[string]int
	Total int
}

type sharingData struct {
	Days    int
	Peer    string
	Peers   []store.Peer
	Rows    []shareRow
	Summary []sharingCell
	Levels  []string
	Capped  bool
}

// sharing is the transparency report: what this node queued for whom,
// under which marking and through which community, and whether it was
// delivered, over the last days.
func (s *Server) sharing(w http.ResponseWriter, r *http.Request, q *req) error {
	ctx := r.Context()
	qs := r.URL.Query()
	d := sharingData{Days: 7, Peer: qs.Get("peer"), Levels: []string{"TLP:CLEAR", "TLP:GREEN", "TLP:AMBER", "TLP:AMBER+STRICT", "TLP:RED", "—"}}
	if n, err := strconv.Atoi(qs.Get("days")); err == nil && n > 0 {
		d.Days = min(n, 366)
	}
	ps, err := s.st.Peers(ctx)
	if err != nil {
		return err
	}
	d.Peers = ps
	peerID := ""
	if d.Peer != "" {
		for _, p := range ps {
			if p.Name == d.Peer || p.IdentityID == d.Peer {
				peerID = p.IdentityID
			}
		}
		if peerID == "" {
			return notFound()
		}
	}
	recs, err := s.st.SharingLog(ctx, q.now.Add(-time.Duration(d.Days)*24*time.Hour), peerID, sharingMax+1)
	if err != nil {
		return err
	}
	if len(recs) > sharingMax {
		recs, d.Capped = recs[:sharingMax], true
	}
	cells := map[string]*sharingCell{}
	var order []string
	for i := len(recs) - 1; i >= 0; i-- { // newest first
		rec := recs[i]
		name := s.wf.NodeName(rec.Peer)
		d.Rows = append(d.Rows, shareRow{ShareRecord: rec, PeerName: name})
		c := cells[name]
		if c == nil {
			c = &sharingCell{Peer: name, ByTLP: map[string]int{}}
			cells[name] = c
			order = append(order, name)
		}
		lv := "—"
		if rec.TLP.Valid() {
			lv = rec.TLP.String()
		}
		c.ByTLP[lv]++
		c.Total++
	}
	slices.Sort(order)
	for _, n := range order {
		d.Summary = append(d.Summary, *cells[n])
	}
	v := s.newView(r, q, q.c, "sharing")
	v.Title = q.c.T("sharing.title")
	v.Data = d
	s.render(w, http.StatusOK, v)
	return nil
}
