package assistance

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// CapabilitiesFile is the file, in a node's data directory, that declares
// the capabilities the node can lend under mutual assistance.
const CapabilitiesFile = "capabilities.json"

// Declaration is what a node declares it can lend: capability ids of the
// catalogue (vocab.Capabilities), and when the declaration was last set.
type Declaration struct {
	Capabilities []string  `json:"capabilities"`
	Updated      time.Time `json:"updated,omitzero"`
}

// ParseCapabilities reads a capabilities file: a JSON object with
// "capabilities" (catalogue ids) and "updated" (RFC 3339), nothing else.
// An unknown capability is an error that suggests the nearest id.
func ParseCapabilities(b []byte) (Declaration, error) {
	var d Declaration
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return Declaration{}, err
	}
	if dec.More() {
		return Declaration{}, errors.New("trailing data after the JSON object")
	}
	caps, err := Capabilities(d.Capabilities)
	if err != nil {
		return Declaration{}, err
	}
	d.Capabilities = caps
	return d, nil
}

// LoadCapabilities reads DIR/capabilities.json. A node that declares
// nothing gets an empty declaration and no error.
func LoadCapabilities(dataDir string) (Declaration, error) {
	path := filepath.Join(dataDir, CapabilitiesFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Declaration{Capabilities: []string{}}, nil
	}
	if err != nil {
		return Declaration{}, err
	}
	d, err := ParseCapabilities(b)
	if err != nil {
		return Declaration{}, fmt.Errorf("%s: %w", path, err)
	}
	return d, nil
}

// SaveCapabilities checks the ids and replaces DIR/capabilities.json
// atomically (written and synced to a temporary file, then renamed), so a
// crash leaves the old declaration or the new one. It returns what it
// wrote.
func SaveCapabilities(dataDir string, ids []string, now time.Time) (Declaration, error) {
	caps, err := Capabilities(ids)
	if err != nil {
		return Declaration{}, err
	}
	d := Declaration{Capabilities: caps, Updated: now.UTC().Truncate(time.Second)}
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return Declaration{}, err
	}
	b = append(b, '\n')
	f, err := os.CreateTemp(dataDir, "."+CapabilitiesFile+".*.tmp")
	if err != nil {
		return Declaration{}, err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op once renamed
	if _, err := f.Write(b); err != nil {
		f.Close()
		return Declaration{}, err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return Declaration{}, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return Declaration{}, err
	}
	if err := f.Close(); err != nil {
		return Declaration{}, err
	}
	if err := os.Rename(tmp, filepath.Join(dataDir, CapabilitiesFile)); err != nil {
		return Declaration{}, err
	}
	if dir, err := os.Open(dataDir); err == nil {
		dir.Sync()
		dir.Close()
	}
	return d, nil
}
