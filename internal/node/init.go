package node

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/entraide/entraide/internal/card"
	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/user"
)

// InitOptions are the inputs of `entraide init`.
type InitOptions struct {
	Dir           string
	Name          string   // node name, e.g. cert-fr
	Org           string   // organisation, e.g. "CERT-FR (ANSSI)"
	Country       string   // ISO 3166-1 alpha-2
	Hosts         []string // extra DNS names or IP addresses for the TLS certificate
	DB            string   // database URL; "" for the embedded SQLite file
	AdminPassword string   // "" to generate one
	FedEndpoint   string   // the federation endpoint peers reach, https://host:port/; "" for DefaultFedEndpoint
	Contacts      []card.Contact
	Clock         clock.Clock
}

// InitResult says what init created.
type InitResult struct {
	Identity          Identity
	DefaultCollection store.Collection
	AdminPassword     string // set only when it was generated
	CertFingerprint   string // SHA-256 of the TLS certificate, hex
	FedSPKI           string // SHA-256 of the federation certificate's public key, hex (what peers pin)
}

// tlsValidity is how long the generated user-listener certificate lasts.
const tlsValidity = 2 * 365 * 24 * time.Hour

// Init creates a node in opts.Dir. It refuses a directory that already holds
// a node or any other file, so it never overwrites keys. On failure it
// removes what it created.
func Init(ctx context.Context, opts InitOptions) (res *InitResult, err error) {
	if err := ValidName(opts.Name); err != nil {
		return nil, err
	}
	if err := ValidCountry(opts.Country); err != nil {
		return nil, err
	}
	if trimmed(opts.Org) == "" {
		return nil, errors.New("--org is required: the organisation running the node")
	}
	if opts.Clock == nil {
		opts.Clock = clock.System{}
	}
	if opts.FedEndpoint == "" {
		opts.FedEndpoint = DefaultFedEndpoint
	}
	probe := Identity{Name: opts.Name, Org: trimmed(opts.Org), Country: opts.Country, FedEndpoint: opts.FedEndpoint, Contacts: opts.Contacts}
	if err := checkCardFields(probe, strings.Repeat("0", 64)); err != nil {
		return nil, err
	}
	if err := checkEmptyDir(opts.Dir); err != nil {
		return nil, err
	}
	created := []string{}
	defer func() {
		if err != nil {
			for i := len(created) - 1; i >= 0; i-- {
				os.RemoveAll(created[i])
			}
		}
	}()
	if _, statErr := os.Stat(opts.Dir); errors.Is(statErr, os.ErrNotExist) {
		if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
			return nil, err
		}
		created = append(created, opts.Dir)
	}
	for _, sub := range []string{"keys", "tls"} {
		p := filepath.Join(opts.Dir, sub)
		if err := os.Mkdir(p, 0o700); err != nil {
			return nil, err
		}
		created = append(created, p)
	}

	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	if err := writeFile(filepath.Join(opts.Dir, SigningKey), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, err
	}
	now := opts.Clock.Now().UTC()
	fp, err := writeTLS(opts, now)
	if err != nil {
		return nil, err
	}
	fedSPKI, err := writeFedTLS(opts.Dir, opts.Name, trimmed(opts.Org), opts.Country, opts.FedEndpoint, opts.Hosts, now)
	if err != nil {
		return nil, err
	}

	id := Identity{Name: opts.Name, Org: trimmed(opts.Org), Country: opts.Country, IdentityID: IdentityIDFor(pub), Created: now.Truncate(time.Second),
		FedEndpoint: opts.FedEndpoint, Contacts: opts.Contacts}
	if opts.DB != "" {
		cfg, _ := json.MarshalIndent(map[string]string{"db": opts.DB}, "", "  ")
		p := filepath.Join(opts.Dir, "config.json")
		if err := writeFile(p, append(cfg, '\n'), 0o600); err != nil {
			return nil, err
		}
		created = append(created, p)
	}

	dbURL := DBURL(opts.Dir, opts.DB)
	st, err := store.Open(ctx, dbURL, opts.Clock)
	if err != nil {
		return nil, fmt.Errorf("creating the database: %w", err)
	}
	if opts.DB == "" {
		created = append(created, filepath.Join(opts.Dir, DBFile), filepath.Join(opts.Dir, DBFile+"-wal"), filepath.Join(opts.Dir, DBFile+"-shm"))
	}
	defer st.Close()
	res = &InitResult{Identity: id, CertFingerprint: fp, FedSPKI: fedSPKI}
	if cols, err := st.Collections(ctx); err != nil {
		return nil, err
	} else if len(cols) > 0 {
		return nil, fmt.Errorf("the database %s already holds collections: it belongs to another node; give a fresh one", redactURL(dbURL))
	}
	res.DefaultCollection = store.Collection{
		ID:          stix.NewUUID(),
		Title:       "Default collection of " + id.Name,
		Description: "Threat intelligence held by " + id.Org + ".",
		Alias:       DefaultCollectionAlias,
		MediaTypes:  []string{"application/stix+json;version=2.1"},
		Created:     now,
	}
	if err := st.CreateCollection(ctx, res.DefaultCollection); err != nil {
		return nil, err
	}
	pw := opts.AdminPassword
	if pw == "" {
		if pw, err = user.NewPassword(); err != nil {
			return nil, err
		}
		res.AdminPassword = pw
	}
	hash, err := user.HashPassword(pw)
	if err != nil {
		return nil, fmt.Errorf("admin password: %w", err)
	}
	if err := st.PutUser(ctx, store.User{Name: "admin", PasswordHash: hash, Admin: true, Created: now}); err != nil {
		return nil, err
	}
	// node.json last: its presence is what marks a complete node.
	b, _ := json.MarshalIndent(id, "", "  ")
	if err := writeFile(filepath.Join(opts.Dir, IdentityFile), append(b, '\n'), 0o644); err != nil {
		return nil, err
	}
	return res, nil
}

func checkEmptyDir(dir string) error {
	if dir == "" {
		return errors.New("--data is required: the node's data directory")
	}
	if _, err := os.Stat(filepath.Join(dir, IdentityFile)); err == nil {
		return fmt.Errorf("%s already holds a node; init refuses to overwrite it (its keys would be lost)", dir)
	}
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(ents) > 0 {
		return fmt.Errorf("%s is not empty; init needs a new or empty directory and never overwrites files", dir)
	}
	return nil
}

func writeTLS(opts InitOptions, now time.Time) (string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: opts.Name, Organization: []string{trimmed(opts.Org)}, Country: []string{opts.Country}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(tlsValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	for _, h := range opts.Hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", err
	}
	if err := writeFile(filepath.Join(opts.Dir, TLSKey), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return "", err
	}
	if err := writeFile(filepath.Join(opts.Dir, TLSCert), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return "", err
	}
	return Fingerprint(der), nil
}

// writeFile creates a new file (never replacing one) and syncs it.
func writeFile(path string, b []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
