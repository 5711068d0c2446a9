package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/entraide/entraide/internal/federation"
	"github.com/entraide/entraide/internal/node"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store"
)

func runExport(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "export", "export --data DIR [--collection ID|ALIAS] [--type T]… [--added-after TS] [--all-versions] [--out FILE]", `
Write a collection's objects as one STIX 2.1 bundle, in the order they were
added, streaming (memory does not grow with the collection). By default the
latest version of each object; --all-versions writes every version.

Every object passes the sharing policy's export rule: TLP:RED is never
exported in bulk. RED objects are left out (each refusal audited) and
counted on standard error; they stay readable by their named recipients.`)
	data := dataFlag(fs)
	dbFlag(fs)
	coll := fs.String("collection", node.DefaultCollectionAlias, "collection id or alias")
	var types stringList
	fs.Var(&types, "type", "only objects of this STIX type (repeatable, or comma-separated)")
	after := fs.String("added-after", "", "only objects added after this timestamp (e.g. 2026-01-31T00:00:00Z)")
	all := fs.Bool("all-versions", false, "write every version, not only the latest")
	out := fs.String("out", "-", "output file; - for standard output")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	q := store.Query{Types: types, Limit: 1000}
	if *after != "" {
		t, err := stix.ParseTimestamp(*after)
		if err != nil {
			return usagef("--added-after: %v", err)
		}
		q.AddedAfter = t
	}
	if *all {
		q.Versions = []string{"all"}
	}
	n, err := openNode(ctx, env, fs, *data)
	if err != nil {
		return err
	}
	defer n.Close()
	c, err := resolveCollection(ctx, n.Store, *coll)
	if err != nil {
		return err
	}
	fed, err := federation.New(ctx, n, federation.Config{})
	if err != nil {
		return err
	}
	var w io.Writer = env.Stdout
	var f *os.File
	if *out != "-" {
		// Write beside the target and rename, so a failed export never
		// leaves a truncated bundle under the requested name.
		f, err = os.CreateTemp(dirOf(*out), ".entraide-export-*")
		if err != nil {
			return err
		}
		defer os.Remove(f.Name())
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriterSize(w, 256<<10)
	count, withheld, err := writeBundle(ctx, bw, n.Store, c.ID, q, func(es []store.Entry) ([]store.Entry, int, error) {
		return fed.Exportable(ctx, exportUser, es)
	})
	if err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if f != nil {
		if err := f.Sync(); err != nil {
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		if err := os.Rename(f.Name(), *out); err != nil {
			return err
		}
		fmt.Fprintf(env.Stderr, "wrote %d objects to %s\n", count, *out)
	}
	if withheld > 0 {
		fmt.Fprintf(env.Stderr, "%d TLP:RED objects withheld: TLP:RED is never exported in bulk\n", withheld)
	}
	return nil
}

// exportUser is who the policy sees exporting: the operator at the node's
// command line.
const exportUser = "cli"

// writeBundle streams a bundle of the collection's entries matching q that
// filter keeps, page by page; it returns how many it wrote and how many the
// filter withheld.
func writeBundle(ctx context.Context, w io.Writer, st store.Store, coll string, q store.Query,
	filter func([]store.Entry) ([]store.Entry, int, error)) (count, withheld int, err error) {
	if _, err := fmt.Fprintf(w, `{"type":"bundle","id":"%s","objects":[`, stix.NewID("bundle")); err != nil {
		return 0, 0, err
	}
	for {
		page, err := st.ListObjects(ctx, coll, q, true)
		if err != nil {
			return count, withheld, err
		}
		keep, n, err := filter(page.Entries)
		if err != nil {
			return count, withheld, err
		}
		withheld += n
		for _, e := range keep {
			if count > 0 {
				io.WriteString(w, ",\n")
			} else {
				io.WriteString(w, "\n")
			}
			if _, err := w.Write(e.Raw); err != nil {
				return count, withheld, err
			}
			count++
		}
		if page.Next == "" {
			break
		}
		q.Next = page.Next
	}
	_, err = io.WriteString(w, "\n]}\n")
	return count, withheld, err
}

func dirOf(path string) string { return filepath.Dir(path) }
