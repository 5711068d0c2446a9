package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"time"
)

func runGenerate(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "generate", "generate indicators --count N [--seed S] [--lines] [--out FILE]", `
Write synthetic but valid STIX 2.1 indicators (IPv4, domain, URL and SHA-256
patterns, TLP 2.0 markings, one creator identity) as a bundle, or one object
per line with --lines. The same --seed gives the same file. Used by the
benchmarks (1,000,000 indicators) and for demonstrations; every object
carries the label "synthetic" so it is never mistaken for intelligence.`)
	count := fs.Int("count", 1000, "number of indicators")
	seed := fs.Uint64("seed", 1, "random seed")
	lines := fs.Bool("lines", false, "one object per line instead of a bundle")
	out := fs.String("out", "-", "output file; - for standard output")
	if len(args) == 0 || args[0] != "indicators" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fs.SetOutput(env.Stdout)
			fs.Usage()
			return nil
		}
		return usagef("generate what? The only kind is: indicators")
	}
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if *count < 0 || *count > 100_000_000 {
		return usagef("--count must be between 0 and 100000000")
	}
	var w io.Writer = env.Stdout
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	if err := GenerateIndicators(bw, *count, *seed, *lines); err != nil {
		return err
	}
	return bw.Flush()
}

// Official TLP 2.0 marking-definition ids.
var genTLP = []string{
	"marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", // CLEAR
	"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", // GREEN
	"marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", // AMBER
}

// GenerateIndicators writes n indicators. Many share one created timestamp on
// purpose: it is what breaks naive TAXII paging.
func GenerateIndicators(w io.Writer, n int, seed uint64, lines bool) error {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const creator = "identity--8d4f0a3e-5b6c-5d7e-9f10-1a2b3c4d5e6f"
	if !lines {
		fmt.Fprintf(w, `{"type":"bundle","id":"bundle--%s","objects":[`+"\n", uuidFrom(r))
	}
	for i := range n {
		ts := base.Add(time.Duration(i/1000) * time.Second).Format("2006-01-02T15:04:05.000Z")
		var pattern, name string
		switch i % 4 {
		case 0:
			ip := fmt.Sprintf("%d.%d.%d.%d", 1+r.IntN(223), r.IntN(256), r.IntN(256), 1+r.IntN(254))
			pattern, name = fmt.Sprintf("[ipv4-addr:value = '%s']", ip), "C2 address "+ip
		case 1:
			d := fmt.Sprintf("%s-%d.example.net", words[r.IntN(len(words))], r.IntN(1_000_000))
			pattern, name = fmt.Sprintf("[domain-name:value = '%s']", d), "Phishing domain "+d
		case 2:
			u := fmt.Sprintf("https://%s.example.org/%s/%d", words[r.IntN(len(words))], words[r.IntN(len(words))], r.IntN(100000))
			pattern, name = fmt.Sprintf("[url:value = '%s']", u), "Malware download URL"
		default:
			var h [32]byte
			for j := range h {
				h[j] = byte(r.IntN(256))
			}
			pattern, name = fmt.Sprintf("[file:hashes.'SHA-256' = '%x']", h), "Ransomware sample"
		}
		sep := ",\n"
		if lines {
			sep = "\n"
		}
		if i == n-1 && !lines {
			sep = "\n"
		}
		if _, err := fmt.Fprintf(w, `{"type":"indicator","spec_version":"2.1","id":"indicator--%s","created":"%s","modified":"%s","created_by_ref":"%s","name":%q,"indicator_types":["malicious-activity"],"pattern":%q,"pattern_type":"stix","valid_from":"%s","labels":["synthetic"],"confidence":%d,"object_marking_refs":["%s"]}%s`,
			uuidFrom(r), ts, ts, creator, name, pattern, ts, 50+r.IntN(51), genTLP[r.IntN(len(genTLP))], sep); err != nil {
			return err
		}
	}
	if !lines {
		_, err := io.WriteString(w, "]}\n")
		return err
	}
	return nil
}

var words = []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliett", "kilo", "lima"}

func uuidFrom(r *rand.Rand) string {
	var u [16]byte
	for i := range u {
		u[i] = byte(r.IntN(256))
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:])
}
