package web

import (
	"strconv"
	"time"

	"github.com/entraide/entraide/internal/store"
)

// Charts are drawn on the server as SVG, inline in the page: no script,
// no image request, and the numbers are in the page for screen readers
// (each chart has a title and a description, each bar a tooltip).
// Colours come from the stylesheet (classes), since the
// Content-Security-Policy allows no inline style.

type svgChart struct {
	ID            string
	Title, Desc   string
	Width, Height int
	Bars          []svgBar
	Labels        []svgText
}

type svgBar struct {
	X, Y, W, H int
	Class      string
	Tip        string
}

type svgText struct {
	X, Y   int
	Text   string
	Anchor string // start, middle, end
	Class  string
}

// severityChart draws open incidents per common level, as horizontal bars.
func severityChart(cat *catalogue, counts []sevCount) *svgChart {
	const rowH, labelW, barW, pad = 22, 110, 260, 4
	c := &svgChart{ID: "chart-incidents-severity", Title: cat.T("chart.incidents.title"), Width: labelW + barW + 50,
		Height: rowH*len(counts) + pad}
	maxN, total := 1, 0
	for _, sc := range counts {
		maxN = max(maxN, sc.Count)
		total += sc.Count
	}
	c.Desc = cat.T("chart.incidents.desc", total)
	for i, sc := range counts {
		y := i*rowH + pad
		name, cls := cat.T("severity.none"), "sev-none"
		if sc.Level >= 0 {
			lv := sevName(sc.Level)
			name, cls = cat.T("severity."+lv), "sev-"+lv
		}
		c.Labels = append(c.Labels, svgText{X: labelW - 6, Y: y + rowH/2 + 4, Text: name, Anchor: "end"})
		w := 0
		if sc.Count > 0 {
			w = max(2, sc.Count*barW/maxN)
		}
		c.Bars = append(c.Bars, svgBar{X: labelW, Y: y, W: w, H: rowH - 6, Class: "bar " + cls, Tip: name + ": " + strconv.Itoa(sc.Count)})
		c.Labels = append(c.Labels, svgText{X: labelW + w + 6, Y: y + rowH/2 + 4, Text: strconv.Itoa(sc.Count), Anchor: "start", Class: "num"})
	}
	return c
}

func sevName(level int) string {
	return [...]string{"baseline", "low", "medium", "high", "severe", "emergency"}[level]
}

// alertDays is how many days the alerts chart covers.
const alertDays = 14

// alertsOverTime draws the alerts opened per day over the last two weeks
// (UTC days), received and sent stacked, from their counts per day
// (store.Day keys).
func alertsOverTime(cat *catalogue, sentByDay, recvByDay map[int64]int, now time.Time) *svgChart {
	const colW, h, top, bottom, left = 28, 120, 8, 24, 30
	today := now.UTC().Truncate(24 * time.Hour)
	first := today.AddDate(0, 0, -(alertDays - 1))
	var recv, sent [alertDays]int
	for i := range alertDays {
		day := store.Day(first.AddDate(0, 0, i))
		recv[i], sent[i] = recvByDay[day], sentByDay[day]
	}
	maxN, total := 1, 0
	for i := range alertDays {
		maxN = max(maxN, recv[i]+sent[i])
		total += recv[i] + sent[i]
	}
	c := &svgChart{ID: "chart-alerts-time", Title: cat.T("chart.alerts.title", alertDays), Desc: cat.T("chart.alerts.desc", total, alertDays),
		Width: left + colW*alertDays + 10, Height: top + h + bottom}
	for i := range alertDays {
		x := left + i*colW
		day := first.AddDate(0, 0, i)
		hr := recv[i] * h / maxN
		hs := sent[i] * h / maxN
		label := cat.Day(day)
		if recv[i] > 0 {
			c.Bars = append(c.Bars, svgBar{X: x + 3, Y: top + h - hr, W: colW - 6, H: hr, Class: "bar received",
				Tip: label + " — " + cat.T("chart.alerts.received", recv[i])})
		}
		if sent[i] > 0 {
			c.Bars = append(c.Bars, svgBar{X: x + 3, Y: top + h - hr - hs, W: colW - 6, H: hs, Class: "bar sent",
				Tip: label + " — " + cat.T("chart.alerts.sent", sent[i])})
		}
		if i%2 == 1 || i == alertDays-1 {
			c.Labels = append(c.Labels, svgText{X: x + colW/2, Y: top + h + 16, Text: strconv.Itoa(day.Day()), Anchor: "middle", Class: "axis"})
		}
	}
	c.Labels = append(c.Labels, svgText{X: left - 4, Y: top + 10, Text: strconv.Itoa(maxN), Anchor: "end", Class: "axis"},
		svgText{X: left - 4, Y: top + h, Text: "0", Anchor: "end", Class: "axis"})
	return c
}
