package node

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/entraide/entraide/internal/store"
)

// DataKeyFile holds the node's data key: 32 random bytes, mode 0600, that
// seal TLP:RED objects at rest (store.NewSealer). It is made on first use,
// by whichever process needs it first. Losing it loses every RED object the
// node holds: back it up with the database, but not in the same place as a
// database dump, or the encryption protects nothing.
const DataKeyFile = "keys/data.key"

// dataKeys caches the data key per data directory: it never changes once
// made, and listings ask for it on every request.
var dataKeys sync.Map // absolute dir → []byte

// DataKey returns the node's data key, creating keys/data.key if it does
// not exist. Creation is atomic across processes (the key is written to a
// temporary file, then linked into place; a process that loses the race
// reads the winner's key), so two commands starting together never seal
// with two keys.
func (n *Node) DataKey() ([]byte, error) {
	dir, err := filepath.Abs(n.Dir)
	if err != nil {
		return nil, err
	}
	if k, ok := dataKeys.Load(dir); ok {
		return bytes.Clone(k.([]byte)), nil
	}
	path := filepath.Join(dir, DataKeyFile)
	k, err := readDataKey(path)
	if errors.Is(err, fs.ErrNotExist) {
		k, err = createDataKey(path)
	}
	if err != nil {
		return nil, err
	}
	dataKeys.Store(dir, k)
	return bytes.Clone(k), nil
}

// Sealer is the node's store.Sealer, under its data key.
func (n *Node) Sealer() (store.Sealer, error) {
	k, err := n.DataKey()
	if err != nil {
		return nil, err
	}
	return store.NewSealer(k, nil)
}

func readDataKey(path string) ([]byte, error) {
	k, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(k) != store.DataKeySize {
		return nil, fmt.Errorf("%s: a data key has %d bytes, this file %d", path, store.DataKeySize, len(k))
	}
	return k, nil
}

func createDataKey(path string) ([]byte, error) {
	k := make([]byte, store.DataKeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".data.key-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, err
	}
	if _, err := tmp.Write(k); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) { // another process made it first
			return readDataKey(path)
		}
		return nil, err
	}
	return k, nil
}
