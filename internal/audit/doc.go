// Package audit is the node's tamper-evident journal: an append-only Merkle
// log (golang.org/x/mod/sumdb/tlog) of every send, receipt, refusal (with its
// reason), peer change and access to TLP:RED data.
//
// Its place in the map: the TAXII, peer, policy and web layers call Append
// as they act; the CLI calls Entries (`entraide audit log`) and Verify
// (`entraide audit verify`); the peer layer exchanges checkpoints with
// partners, who Cosign them. A node can always rewrite its own database, so
// the log's guarantee comes from others: once a partner has cosigned a
// checkpoint, any later checkpoint of a rewritten history is inconsistent with
// it, and the partner refuses it with ErrForkDetected.
//
// The pieces, each with written rules:
//   - an entry's leaf is its canonical encoding (Entry.Leaf: RFC 8785 JSON,
//     versioned by "v"), frozen by testdata/leaf-v1.golden;
//   - a checkpoint is a signed note (golang.org/x/mod/sumdb/note) whose text
//     names the log (see FormatCheckpoint), signed with the node's Ed25519
//     key under the node's name;
//   - a cosignature is a partner's note signature over the same text;
//   - a cosign request carries a checkpoint and a consistency proof from the
//     last checkpoint the partner cosigned (CosignRequest, JSON).
//
// Storage is behind the Storage interface, implemented by the store package
// for SQLite and PostgreSQL and checked by its conformance suite.
package audit
