package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/entraide/entraide/internal/node"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store"
)

// importBatch is how many objects go into one store transaction: large enough
// to amortise the commit, small enough that a kill -9 loses at most one
// uncommitted batch (which a rerun adds again) and that memory stays flat.
const importBatch = 2000

// maxShownRejects bounds the rejection lines printed; --rejects FILE gets all.
const maxShownRejects = 50

func runImport(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "import", "import --data DIR [--collection ID|ALIAS] [--rejects FILE] FILE…", `
Load STIX 2.1 objects into a collection (default: the "default" collection).
A FILE is a STIX bundle, a JSON array of objects, or one object per line;
"-" reads standard input. Files are streamed: memory does not grow with
their size. Every object is validated; invalid ones are rejected with the
reason and never block the valid ones. Objects already present (same id and
version, same content) are counted and skipped, so an interrupted import can
simply be run again.

Works while 'entraide serve' runs on the same data directory.`)
	data := dataFlag(fs)
	dbFlag(fs)
	coll := fs.String("collection", node.DefaultCollectionAlias, "collection id or alias")
	rejects := fs.String("rejects", "", "write every rejected object's position, id and reason to this file (JSON lines)")
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("give at least one FILE (or - for standard input)")
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
	// TLP:RED objects are sealed at rest under the node's data key, as
	// those peers send and users add over TAXII are: every batch is
	// written with AddObjectsWith and the node's Sealer.
	sealer, err := n.Sealer()
	if err != nil {
		return err
	}
	st := store.WithSealer(n.Store, sealer)
	var rej io.Writer
	if *rejects != "" {
		f, err := os.Create(*rejects)
		if err != nil {
			return err
		}
		defer f.Close()
		rej = f
	}
	var total importSummary
	total.File = "(all)"
	var summaries []importSummary
	for _, path := range fs.Args() {
		s, err := importFile(ctx, env, st, c.ID, path, rej)
		summaries = append(summaries, s)
		total.add(s)
		if err != nil {
			if !*asJSON {
				printSummary(env, s)
			}
			return fmt.Errorf("%s: %w (objects before this point were stored; run the import again to resume)", path, err)
		}
	}
	if *asJSON {
		return writeJSON(env.Stdout, map[string]any{"collection": c.ID, "files": summaries, "total": total})
	}
	for _, s := range summaries {
		printSummary(env, s)
	}
	if len(summaries) > 1 {
		printSummary(env, total)
	}
	if total.Rejected > 0 {
		return fmt.Errorf("%d object(s) rejected", total.Rejected)
	}
	return nil
}

type importSummary struct {
	File      string         `json:"file"`
	Read      int            `json:"read"`
	Added     int            `json:"added"`
	Present   int            `json:"already_present"`
	Rejected  int            `json:"rejected"`
	Rejects   []importReject `json:"rejects,omitempty"`
	Seconds   float64        `json:"seconds"`
	PerSecond float64        `json:"objects_per_second"`
}

type importReject struct {
	File   string `json:"file"`
	Index  int    `json:"index"` // 1-based position of the object in its file
	ID     string `json:"id,omitempty"`
	Reason string `json:"reason"`
}

func (s *importSummary) add(o importSummary) {
	s.Read += o.Read
	s.Added += o.Added
	s.Present += o.Present
	s.Rejected += o.Rejected
	s.Seconds += o.Seconds
	if s.Seconds > 0 {
		s.PerSecond = float64(s.Read) / s.Seconds
	}
	if room := maxShownRejects - len(s.Rejects); room > 0 {
		s.Rejects = append(s.Rejects, o.Rejects[:min(room, len(o.Rejects))]...)
	}
}

func printSummary(env Env, s importSummary) {
	fmt.Fprintf(env.Stdout, "%s: %d objects read: %d added, %d already present, %d rejected (%.1f s, %.0f objects/s)\n",
		s.File, s.Read, s.Added, s.Present, s.Rejected, s.Seconds, s.PerSecond)
	for _, r := range s.Rejects {
		id := r.ID
		if id == "" {
			id = "(no id)"
		}
		fmt.Fprintf(env.Stdout, "  rejected object #%d %s: %s\n", r.Index, id, r.Reason)
	}
	if s.Rejected > len(s.Rejects) {
		fmt.Fprintf(env.Stdout, "  … and %d more rejected (use --rejects FILE to list them all)\n", s.Rejected-len(s.Rejects))
	}
}

// chunk is a batch of raw objects travelling through the pipeline: read in
// order, parsed in parallel, stored in order.
type chunk struct {
	first int // 1-based index of raws[0] in the file
	raws  [][]byte
	objs  []*stix.Object
	errs  []error
	done  chan struct{}
}

// importFile streams the objects of path into collection coll of st, in
// batches of importBatch, each one transaction. st decides how they are
// written: the command gives it store.WithSealer, so that TLP:RED objects
// reach the disk sealed only.
func importFile(ctx context.Context, env Env, st store.Store, coll, path string, rej io.Writer) (importSummary, error) {
	s := importSummary{File: path}
	start := time.Now()
	var in io.Reader
	var size int64 = -1
	if path == "-" {
		in = env.Stdin
		s.File = "(stdin)"
	} else {
		f, err := os.Open(path)
		if err != nil {
			return s, err
		}
		defer f.Close()
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			size = fi.Size()
		}
		in = f
	}
	cr := &countingReader{r: in}
	rd := stix.NewReader(cr)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := max(1, runtime.GOMAXPROCS(0))
	toParse := make(chan *chunk, workers)
	ordered := make(chan *chunk, workers*2)
	var readErr error
	go func() { // reader
		defer close(toParse)
		defer close(ordered)
		idx := 1
		for {
			c := &chunk{first: idx, done: make(chan struct{})}
			for len(c.raws) < importBatch {
				raw, err := rd.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					readErr = err
					break
				}
				c.raws = append(c.raws, raw)
			}
			idx += len(c.raws)
			if len(c.raws) > 0 {
				select {
				case toParse <- c:
				case <-ctx.Done():
					return
				}
				select {
				case ordered <- c:
				case <-ctx.Done():
					return
				}
			}
			if len(c.raws) < importBatch {
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range toParse {
				c.objs = make([]*stix.Object, len(c.raws))
				c.errs = make([]error, len(c.raws))
				for i, raw := range c.raws {
					c.objs[i], c.errs[i] = stix.Parse(raw)
				}
				close(c.done)
			}
		}()
	}
	defer wg.Wait()

	prog := newProgress(env, s.File, size, &cr.n)
	defer prog.stop()
	var storeErr error
	for c := range ordered {
		select {
		case <-c.done:
		case <-ctx.Done():
			return s, ctx.Err()
		}
		var batch []*stix.Object
		var at []int // at[j] is batch[j]'s index in c
		for i, o := range c.objs {
			if c.errs[i] != nil {
				s.reject(rej, importReject{File: s.File, Index: c.first + i, ID: rawID(c.raws[i]), Reason: c.errs[i].Error()})
				continue
			}
			batch = append(batch, o)
			at = append(at, i)
		}
		s.Read += len(c.raws)
		if len(batch) > 0 {
			res, err := st.AddObjects(ctx, coll, batch)
			if err != nil {
				storeErr = err
				cancel()
				break
			}
			for i, r := range res {
				switch r.Outcome {
				case store.Added:
					s.Added++
				case store.Duplicate:
					s.Present++
				default:
					s.reject(rej, importReject{File: s.File, Index: c.first + at[i], ID: r.ID, Reason: r.Message})
				}
			}
		}
		prog.objects.Store(int64(s.Read))
	}
	s.Seconds = time.Since(start).Seconds()
	if s.Seconds > 0 {
		s.PerSecond = float64(s.Read) / s.Seconds
	}
	if storeErr != nil {
		return s, storeErr
	}
	if err := ctx.Err(); err != nil {
		return s, err
	}
	if readErr != nil {
		return s, readErr
	}
	return s, nil
}

func (s *importSummary) reject(w io.Writer, r importReject) {
	s.Rejected++
	if len(s.Rejects) < maxShownRejects {
		s.Rejects = append(s.Rejects, r)
	}
	if w != nil {
		b, _ := json.Marshal(r)
		w.Write(append(b, '\n'))
	}
}

// rawID pulls the id out of an object that failed to parse, for the report.
func rawID(raw []byte) string {
	var h struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(raw, &h) == nil && len(h.ID) < 200 {
		return h.ID
	}
	return ""
}

type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// resolveCollection finds a collection by id or alias.
func resolveCollection(ctx context.Context, st store.Store, idOrAlias string) (store.Collection, error) {
	c, err := st.Collection(ctx, idOrAlias)
	if err == nil {
		return c, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return c, err
	}
	cols, err := st.Collections(ctx)
	if err != nil {
		return c, err
	}
	var names []string
	for _, c := range cols {
		if c.Alias == idOrAlias {
			return c, nil
		}
		names = append(names, c.ID+aliasSuffix(c.Alias))
	}
	return c, fmt.Errorf("no collection %q (collections: %s)", idOrAlias, strings.Join(names, ", "))
}

func aliasSuffix(a string) string {
	if a == "" {
		return ""
	}
	return " (" + a + ")"
}
